"""Payment orders composed: creating orders, provider callbacks, settlement, refunds of late money, the sweep,
the e-receipt of every paid order (payments/receipt_issuing.py) and the credit note of every refund of one
(payments/credit_note_issuing.py).

Built once per process from the provider adapters and the database: by the API (`Dependencies.payments`) and
by the Celery worker for the beat sweep (payments/order_tasks.py). docs/school-fees.md tells the whole story.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pymongo import AsyncMongoClient

from accounts.events import AccountEventRepository
from accounts.people import PersonRepository
from affairs.audit import AuditRepository
from affairs.case_repository import Transactions
from core.idempotency import IdempotencyRepository
from core.outbox import OutboxRepository
from payments.alipay import AlipayClient
from payments.alipay_login import AlipayAccounts
from payments.bill_service import Bills
from payments.bills import BillRepository
from payments.credit_note_issuing import CreditNoteIssuer, CreditNoteQueueRepository
from payments.credit_notes import CreditNoteBook, CreditNoteRepository
from payments.late_refunds import LateRefunds
from payments.order_closing import ProviderOrders
from payments.order_refunds import LateRefundNotice, RefundDesk, Refunder
from payments.order_service import PaymentOrders
from payments.order_settlement import Settlement, settlement_transactions
from payments.order_sweep import OrderSweep
from payments.orders import OrderRepository
from payments.payment_callbacks import PaymentCallbacks
from payments.receipt_issuing import ReceiptIssuer, ReceiptQueueRepository
from payments.receipts import receipt_book
from payments.refund_service import SchoolRefunds, build_refunds
from payments.refunds import RefundRepository
from payments.schools import SchoolRepository
from payments.students import StudentRepository
from payments.wechatpay import WeChatPayClient

if TYPE_CHECKING:
    from config.settings import Settings


@dataclass
class Payments:
    orders: PaymentOrders
    callbacks: PaymentCallbacks
    settlement: Settlement
    refunder: Refunder
    sweep: OrderSweep
    refunds: SchoolRefunds  # refunds asked for by school finance (payments/refund_service.py)
    receipts: ReceiptIssuer
    credit_notes: CreditNoteIssuer  # the 红字票据 of every refund that settles (payments/credit_note_issuing.py)
    late_refunds: LateRefunds  # school finance's view of the automatic refunds, and of all refunds by state
    alipay_accounts: AlipayAccounts  # the payer's Alipay identity, linked by mini-program login

    @classmethod
    def build(cls, client: AsyncMongoClient[dict[str, Any]], settings: Settings, *, wechatpay: WeChatPayClient,
              alipay: AlipayClient) -> Payments:
        db = client[settings.mongodb_db]
        repo = OrderRepository(db)
        bills = Bills(BillRepository(db), StudentRepository(db), OutboxRepository(db))
        receipts = ReceiptIssuer(receipt_book(db, settings), ReceiptQueueRepository(db), repo, bills.bills,
                                 PersonRepository(db))
        settlement = Settlement(repo, bills, settlement_transactions(client), on_paid=receipts)
        desk, refund_query_after = RefundDesk(wechatpay, alipay), timedelta(minutes=settings.refund_query_after_min)
        refunder = Refunder(repo, desk, query_after=refund_query_after,
                            notice=LateRefundNotice(Transactions(client), bills.bills, OutboxRepository(db)))
        credit_notes = CreditNoteIssuer(CreditNoteBook(CreditNoteRepository(db), receipts.book.counters,
                                                       receipts.book.keys),
                                        CreditNoteQueueRepository(db), RefundRepository(db), receipts)
        refunds = build_refunds(client, settings.mongodb_db, desk, query_after=refund_query_after,
                                on_settled=credit_notes)
        provider = ProviderOrders(settlement, wechatpay, alipay)
        orders = PaymentOrders(repo, bills, PersonRepository(db), IdempotencyRepository(db), settlement, wechatpay,
                               alipay, provider, oa_appid=settings.wechat_oa_appid,
                               ttl=timedelta(minutes=settings.payment_order_ttl_min))
        return cls(orders=orders, callbacks=PaymentCallbacks(wechatpay, alipay, settlement, refunder,
                                                             refund_settlement=refunds.settlement),
                   settlement=settlement, refunder=refunder, refunds=refunds,
                   sweep=OrderSweep(repo, settlement, refunder, provider,
                                    query_after=timedelta(minutes=settings.payment_query_after_min),
                                    refund_settlement=refunds.settlement),
                   receipts=receipts, credit_notes=credit_notes,
                   late_refunds=LateRefunds(repo, RefundRepository(db), SchoolRepository(db), refunder,
                                            AuditRepository(db), Transactions(client)),
                   alipay_accounts=AlipayAccounts(PersonRepository(db), AccountEventRepository(db), alipay))
