"""Demo guides of housing matters: housing-fund withdrawals and real-estate registrations (with fees in fen)."""

from __future__ import annotations

from typing import Any

from affairs.demo_kit import (
    CITY,
    NX_HALL,
    bank_card,
    choice,
    form,
    id_card,
    id_number,
    marriage_certificate,
    mat,
    matter,
    mobile,
    number,
    place,
    standard_steps,
    text,
)

_FUND_PLACE = {"name": "长沙住房公积金管理中心宁乡分中心", "address": "宁乡市玉潭街道新康路 88 号市民之家三楼",
               "hours": "周一至周五 9:00-12:00，13:30-17:00（法定节假日除外）"}
_FUND_BASIS = ["《住房公积金管理条例》第二十四条", "《长沙住房公积金提取管理办法》"]
_ESTATE_BASIS = ["《中华人民共和国民法典》第二百零九条至第二百二十三条", "《不动产登记暂行条例》第十四条、第二十条",
                 "《不动产登记暂行条例实施细则》"]
# 住宅类不动产登记费 80 元/件（含第一本证书工本费）: integer fen.
_ESTATE_FEE = {"free": False, "amount_fen": 8000,
               "basis": "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）"}


def _withdrawal_form(title: str, reasons: tuple[str, ...]) -> dict[str, Any]:
    return form(title, {
        "applicant_name": text("职工姓名", 30), "applicant_id_number": id_number("职工公民身份号码"),
        "reason": choice("提取原因", *reasons), "amount_yuan": number("申请提取金额（元）", 1),
        "bank_account": text("收款银行账号（本人一类账户）", 30), "applicant_phone": mobile()})


def _estate_form(title: str, kind: str) -> dict[str, Any]:
    return form(title, {
        "registration_kind": choice("登记类型", kind), "property_location": text("不动产坐落", 100),
        "property_certificate_no": text("不动产权证书号（首次登记可不填）", 40),
        "area_m2": {"type": "number", "title": "建筑面积（平方米）", "exclusiveMinimum": 0},
        "right_holders": {"type": "array", "title": "权利人", "minItems": 1, "items": {
            "type": "object", "title": "权利人", "properties": {
                "name": text("姓名或名称", 60), "id_number": text("证件号码", 30),
                "share": text("共有份额（如 1/2）", 10)}, "required": ["name", "id_number"]}},
        "contact_phone": mobile()}, optional=("property_certificate_no",))


HOUSING_MATTERS: list[dict[str, Any]] = [
    matter(
        "430100-GJJ-0002", "住房公积金提取（购买自住住房）", dept="cs_fund", type="公共服务", region=CITY,
        summary="职工购买、建造、翻建、大修自住住房的，可申请提取本人及配偶的住房公积金账户余额。",
        basis=_FUND_BASIS,
        conditions=["正常缴存住房公积金满 6 个月", "购房行为发生在提取申请前 2 年内", "购房人为职工本人或其配偶"],
        materials=[id_card("职工本人"),
                   mat("不动产权证书或经备案的购房合同", source="government", detail="不动产登记机构",
                       ecert="real_estate_certificate", notes="能通过不动产登记信息共享核验的免提交"),
                   marriage_certificate(required=False, notes="提取配偶账户余额时提供；可调取电子证照的免提交"),
                   bank_card("职工本人")],
        statutory=5, promised=2, process=standard_steps(2, "提取审批结果"),
        depth="zero_visit", result="提取资金到账（短信通知）", places=[_FUND_PLACE], tongban="city",
        life_events=("housing",), themes=("housing_fund",),
        keywords=("公积金提取", "取公积金", "买房提取", "购房提取"),
        form_schema=_withdrawal_form("住房公积金提取（购房）", ("购买新建商品房", "购买二手房", "自建翻建大修")),
    ),
    matter(
        "430100-GJJ-0003", "住房公积金提取（离职、退休）", dept="cs_fund", type="公共服务", region=CITY,
        summary="职工离休、退休，或与单位终止劳动关系且封存满规定期限的，可申请提取住房公积金账户全部余额并销户。",
        basis=_FUND_BASIS,
        conditions=["已办理退休手续，或住房公积金账户封存满 6 个月且未重新就业", "账户无未结清的公积金贷款"],
        materials=[id_card("职工本人"),
                   mat("退休证或退休审批表", source="government", detail="人力资源社会保障部门",
                       ecert="retirement_certificate", required=False, notes="退休提取时提供；信息共享可核验的免提交"),
                   bank_card("职工本人")],
        statutory=5, promised=2, process=standard_steps(2, "提取审批结果"),
        depth="zero_visit", result="提取资金到账并销户", places=[_FUND_PLACE], tongban="nationwide",
        life_events=("retirement", "employment"), themes=("housing_fund",),
        keywords=("公积金提取", "退休提取", "离职提取", "公积金销户"),
        form_schema=_withdrawal_form("住房公积金提取（离职、退休）", ("退休", "离职封存满 6 个月", "出境定居")),
    ),
    matter(
        "430182-BDC-0001", "不动产转移登记（存量房买卖）", dept="nx_estate", type="行政确认",
        summary="二手房买卖成交后，买卖双方申请办理房屋所有权及土地使用权转移登记，买方取得不动产权证书。"
                "与缴税、水电气过户“一窗受理、并行办理”。",
        basis=_ESTATE_BASIS,
        conditions=["房屋已取得不动产权证书且无查封、异议登记等限制", "买卖双方已签订存量房买卖合同",
                    "已依法缴纳相关税费（可在同一窗口同时办理）"],
        materials=[id_card("买卖双方"),
                   mat("不动产权证书", source="government", detail="不动产登记机构", ecert="real_estate_certificate",
                       notes="卖方提供原件，登记后收回注销"),
                   mat("存量房买卖合同", original=1, notes="网签备案合同，可在线调取"),
                   marriage_certificate(required=False, notes="已婚的提供，用于确认共有情况"),
                   mat("完税凭证", source="government", detail="税务部门", ecert="tax_payment_certificate",
                       notes="税务部门信息共享推送的免提交")],
        statutory=30, promised=5, fee=_ESTATE_FEE, process=standard_steps(5, "不动产权证书"),
        depth="one_visit", result="不动产权证书（电子证书同步发放）", result_ecert="real_estate_certificate",
        places=[place(NX_HALL, "不动产登记 31-38 号窗口")], tongban="city",
        life_events=("housing",), themes=("real_estate",),
        keywords=("过户", "房产过户", "二手房", "房产证", "不动产登记"),
        form_schema=_estate_form("不动产转移登记申请", "转移登记（买卖）"),
        co_departments=("nx_tax",),  # 契税: the tax office reviews in parallel (一窗受理、并行办理)
    ),
    matter(
        "430182-BDC-0002", "不动产首次登记（新建商品房）", dept="nx_estate", type="行政确认",
        summary="购买新建商品房的，在开发企业完成首次登记后申请转移登记，取得不动产权证书（交房即交证）。",
        basis=_ESTATE_BASIS,
        conditions=["开发企业已办理项目首次登记", "已签订商品房买卖合同并网签备案", "已缴纳契税"],
        materials=[id_card("购房人"), mat("商品房买卖合同", notes="网签备案合同，可在线调取"),
                   mat("契税完税凭证", source="government", detail="税务部门", ecert="tax_payment_certificate",
                       notes="信息共享推送的免提交"),
                   marriage_certificate(required=False, notes="夫妻共有的提供")],
        statutory=30, promised=3, fee=_ESTATE_FEE, process=standard_steps(3, "不动产权证书"),
        depth="one_visit", result="不动产权证书", result_ecert="real_estate_certificate",
        places=[place(NX_HALL, "不动产登记 31-38 号窗口")], tongban="city",
        life_events=("housing",), themes=("real_estate",),
        keywords=("新房办证", "房产证", "交房即交证", "不动产登记"),
        form_schema=_estate_form("不动产登记申请（新建商品房）", "转移登记（新建商品房）"),
    ),
    matter(
        "430182-BDC-0003", "不动产抵押登记", dept="nx_estate", type="行政确认", targets=("person", "company"),
        summary="以不动产设定抵押（如办理房贷）的，由抵押人和抵押权人共同申请抵押权登记，取得不动产登记证明。",
        basis=_ESTATE_BASIS,
        conditions=["抵押物已取得不动产权证书，或为在建工程、预购商品房", "已签订主债权合同和抵押合同"],
        materials=[id_card("抵押人"), mat("不动产权证书", source="government", ecert="real_estate_certificate"),
                   mat("主债权合同及抵押合同", notes="银行可通过“不动产登记+金融服务”在线推送"),
                   mat("抵押权人营业执照", source="government", ecert="business_licence")],
        statutory=30, promised=1, fee=_ESTATE_FEE, process=standard_steps(1, "不动产登记证明"),
        depth="zero_visit", result="不动产登记证明（抵押权）", result_ecert="real_estate_registration_certificate",
        places=[place(NX_HALL, "不动产登记 31-38 号窗口")], tongban="city",
        life_events=("housing",), themes=("real_estate",), keywords=("抵押", "房贷", "抵押登记", "按揭"),
        form_schema=_estate_form("不动产抵押登记申请", "抵押权首次登记"),
    ),
]
