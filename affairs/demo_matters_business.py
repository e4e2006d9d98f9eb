"""Demo guides of the 开办企业 bundle and other company matters: business licence (宁乡 and 岳麓), sole
proprietors, seal engraving, invoices, social insurance and housing fund registration of an employer,
deregistration."""

from __future__ import annotations

from typing import Any

from affairs.demo_kit import (
    CITY,
    NX_HALL,
    YL_HALL,
    YUELU,
    choice,
    form,
    id_card,
    id_number,
    mat,
    matter,
    mobile,
    number,
    place,
    standard_steps,
    text,
)

_COMPANY_BASIS = ["《中华人民共和国公司法》第二十九条、第三十三条", "《中华人民共和国市场主体登记管理条例》第十九条",
                  "《中华人民共和国市场主体登记管理条例实施细则》"]


def _business_licence_form() -> dict[str, Any]:
    return form("企业设立登记申请", {
        "company_name": text("企业名称", 60), "company_type": choice("企业类型", "有限责任公司", "股份有限公司",
                                                                    "个人独资企业", "合伙企业"),
        "registered_capital_wan": number("注册资本（万元）", 1, 10_000_000), "address": text("住所", 100),
        "business_scope": text("经营范围", 1000), "legal_representative": text("法定代表人姓名", 30),
        "legal_representative_id_number": id_number("法定代表人公民身份号码"),
        "contact_phone": mobile("联系人手机号码"),
        "shareholders": {"type": "array", "title": "股东（发起人）", "minItems": 1, "items": {
            "type": "object", "title": "股东", "properties": {
                "name": text("股东名称或姓名", 60), "contribution_wan": number("认缴出资额（万元）", 0)},
            "required": ["name", "contribution_wan"]}},
    })


def _business_licence(code: str, *, dept: str, region: str | None = None,
                      places: list[dict[str, str]] | None = None) -> dict[str, Any]:
    return matter(
        code, "企业设立登记（营业执照）", dept=dept, type="行政许可", region=region, places=places,
        targets=("company", "person"),
        summary="设立有限责任公司、股份有限公司等企业，申请设立登记并领取营业执照。通过“企业开办一件事”可同时"
                "办理印章刻制、发票申领、社保和公积金单位登记。",
        basis=_COMPANY_BASIS,
        conditions=["企业名称符合《企业名称登记管理规定》且已自主申报", "有符合公司章程规定的全体股东认缴的出资额",
                    "有公司住所（可使用住所申报承诺制）", "法定代表人、董事、监事符合任职资格"],
        materials=[mat("公司登记（备案）申请书", form_key="forms/company-registration-application.docx",
                       notes="在掌上办填写后由全体股东电子签名，无需打印"),
                   mat("公司章程", notes="全体股东签署；可使用标准化章程模板"),
                   mat("股东主体资格证明", source="government", ecert="business_licence",
                       notes="自然人股东提供身份证件，法人股东提供营业执照；可调取电子证照的免提交"),
                   id_card("法定代表人"),
                   mat("住所使用证明", source="government", detail="不动产登记机构", ecert="real_estate_certificate",
                       defer=True, notes="自有房产免提交；租赁的提供租赁合同；可容缺受理，领照前补交")],
        statutory=15, promised=1, process=standard_steps(1, "营业执照"),
        depth="zero_visit", result="营业执照（电子营业执照同步发放）", result_ecert="business_licence",
        tongban="province", life_events=("company_opening",), themes=("market_entities",),
        keywords=("营业执照", "开公司", "注册公司", "企业开办", "工商注册"),
        form_schema=_business_licence_form(),
    )


BUSINESS_MATTERS: list[dict[str, Any]] = [
    _business_licence("430182-SJ-0001", dept="nx_market", places=[place(NX_HALL, "企业开办专区 21-24 号窗口")]),
    _business_licence("430104-SJ-0001", dept="yl_market", region=YUELU, places=[place(YL_HALL, "企业开办专区")]),
    matter(
        "430182-SJ-0002", "个体工商户设立登记", dept="nx_market", type="行政许可",
        summary="公民从事工商业经营，申请个体工商户设立登记并领取营业执照。",
        basis=["《促进个体工商户发展条例》", "《中华人民共和国市场主体登记管理条例》第十九条"],
        conditions=["有经营能力的自然人", "有固定经营场所", "经营范围不属于法律法规禁止的行业"],
        materials=[id_card("经营者"),
                   mat("个体工商户登记（备案）申请书", form_key="forms/sole-proprietor-application.docx"),
                   mat("经营场所使用证明", source="government", ecert="real_estate_certificate", defer=True,
                       notes="可容缺受理")],
        statutory=15, promised=1, instant=True, process=standard_steps(1, "营业执照"),
        depth="zero_visit", result="营业执照", result_ecert="business_licence", tongban="province",
        life_events=("company_opening", "employment"), themes=("market_entities",),
        keywords=("个体户", "开店", "营业执照", "个体执照"),
        form_schema=form("个体工商户设立登记", {
            "shop_name": text("个体工商户名称（字号）", 60), "operator_name": text("经营者姓名", 30),
            "operator_id_number": id_number("经营者公民身份号码"), "address": text("经营场所", 100),
            "business_scope": text("经营范围", 500), "employees": number("从业人数", 1, 1000),
            "contact_phone": mobile()}),
        places=[place(NX_HALL, "企业开办专区 21-24 号窗口")],
    ),
    matter(
        "430182-GA-0003", "企业印章刻制备案", dept="nx_police", type="公共服务", targets=("company",),
        summary="企业领取营业执照后刻制公章、财务章等印章，由刻制单位在线向公安机关备案；新办企业首套印章由政府买单免费刻制。",
        basis=["《国务院对确需保留的行政审批项目设定行政许可的决定》", "《印铸刻字业暨印章业治安管理办法》"],
        conditions=["已领取营业执照", "选择已备案的印章刻制企业"],
        materials=[mat("营业执照", source="government", detail="市场监督管理部门", ecert="business_licence"),
                   id_card("法定代表人或经办人")],
        statutory=3, promised=1, instant=True, process=standard_steps(1, "印章及备案回执"),
        depth="zero_visit", result="印章备案回执",
        life_events=("company_opening",), themes=("market_entities",), keywords=("刻章", "公章", "印章备案"),
        form_schema=form("印章刻制备案", {
            "company_name": text("企业名称", 60), "credit_code": text("统一社会信用代码", 18),
            "seals": {"type": "array", "title": "刻制印章", "minItems": 1,
                      "items": choice("印章种类", "公章", "财务专用章", "发票专用章", "合同专用章", "法定代表人名章")},
            "contact_phone": mobile("经办人手机号码")}),
    ),
    matter(
        "430182-SW-0001", "新办纳税人套餐式服务（发票领用）", dept="nx_tax", type="行政确认", targets=("company", "person"),
        summary="新办企业和个体工商户一次性办理实名采集、税费种认定、发票票种核定和发票领用，可申领税务 UKey 开具电子发票。",
        basis=["《中华人民共和国税收征收管理法》第十五条、第二十一条", "《中华人民共和国发票管理办法》第十五条"],
        conditions=["已领取营业执照", "法定代表人、财务负责人、办税人员已完成实名认证"],
        materials=[mat("营业执照", source="government", detail="市场监督管理部门", ecert="business_licence"),
                   id_card("办税人员"),
                   mat("财务会计制度及核算软件备案报告书", form_key="forms/accounting-system-filing.pdf",
                       required=False, notes="实行查账征收的企业提供")],
        statutory=5, promised=1, instant=True, process=standard_steps(1, "税务事项通知书"),
        depth="zero_visit", result="税务事项通知书；发票（含数电发票开票额度）", tongban="nationwide",
        life_events=("company_opening",), themes=("taxation",),
        keywords=("发票", "领发票", "税务登记", "新办纳税人", "税控"),
        form_schema=form("新办纳税人套餐式服务", {
            "company_name": text("纳税人名称", 60), "credit_code": text("统一社会信用代码", 18),
            "financial_officer": text("财务负责人姓名", 30), "tax_agent": text("办税人员姓名", 30),
            "invoice_type": choice("申领发票种类", "数电普通发票", "数电增值税专用发票"),
            "monthly_limit": number("每月最高开票限额（元）", 1, 10_000_000), "contact_phone": mobile()}),
        places=[place(NX_HALL, "税务 25-30 号窗口")],
    ),
    matter(
        "430182-RS-0001", "单位社会保险参保登记", dept="nx_hrss", type="行政确认", targets=("company",),
        summary="用人单位自成立之日起三十日内申请办理社会保险登记，为职工参加养老、失业、工伤保险。",
        basis=["《中华人民共和国社会保险法》第五十七条", "《社会保险费征缴暂行条例》第七条"],
        conditions=["已领取营业执照或批准成立文件", "在宁乡市范围内登记注册"],
        materials=[mat("营业执照", source="government", detail="市场监督管理部门", ecert="business_licence"),
                   id_card("法定代表人")],
        statutory=15, promised=1, instant=True, process=standard_steps(1, "社会保险登记信息"),
        depth="zero_visit", result="社会保险登记信息（与营业执照信息共享，不再单独发证）", tongban="province",
        life_events=("company_opening",), themes=("social_insurance",),
        keywords=("单位参保", "社保开户", "社保登记"),
        form_schema=form("单位社会保险参保登记", {
            "company_name": text("单位名称", 60), "credit_code": text("统一社会信用代码", 18),
            "bank_account": text("缴费银行账号", 30), "employees": number("参保职工人数", 1),
            "contact_phone": mobile("经办人手机号码")}),
        places=[place(NX_HALL, "人社 15-18 号窗口")],
    ),
    matter(
        "430100-GJJ-0001", "住房公积金单位缴存登记", dept="cs_fund", type="公共服务", region=CITY,
        targets=("company",),
        summary="新设立的单位自设立之日起三十日内到住房公积金管理中心办理缴存登记，为职工开立住房公积金账户。",
        basis=["《住房公积金管理条例》第十四条、第十五条"],
        conditions=["单位已依法设立", "单位经办人已完成实名认证"],
        materials=[mat("营业执照", source="government", detail="市场监督管理部门", ecert="business_licence"),
                   mat("住房公积金单位缴存登记表", form_key="forms/housing-fund-employer-registration.xlsx")],
        statutory=5, promised=1, instant=True, process=standard_steps(1, "单位缴存登记信息"),
        depth="zero_visit", result="住房公积金单位账号", tongban="city",
        life_events=("company_opening",), themes=("housing_fund",),
        keywords=("公积金开户", "单位公积金", "公积金登记"),
        form_schema=form("住房公积金单位缴存登记", {
            "company_name": text("单位名称", 60), "credit_code": text("统一社会信用代码", 18),
            "deposit_rate": choice("缴存比例", "5%", "8%", "10%", "12%"), "employees": number("缴存职工人数", 1),
            "contact_phone": mobile("经办人手机号码")}),
        places=[{"name": "长沙住房公积金管理中心宁乡分中心", "address": "宁乡市玉潭街道新康路 88 号市民之家三楼",
                 "hours": "周一至周五 9:00-12:00，13:30-17:00（法定节假日除外）"}],
    ),
    matter(
        "430182-SJ-0003", "企业注销登记", dept="nx_market", type="行政许可", targets=("company",),
        summary="企业因解散、被宣告破产等原因终止的，清算完毕后申请注销登记；未发生债权债务的可适用简易注销。",
        basis=["《中华人民共和国公司法》第二百三十九条", "《中华人民共和国市场主体登记管理条例》第三十一条至第三十四条"],
        conditions=["已依法成立清算组并完成清算（简易注销的除外）", "已结清应缴税款、社会保险费",
                    "不存在被列入严重违法失信名单等不得注销的情形"],
        materials=[mat("注销登记申请书", form_key="forms/company-deregistration-application.docx"),
                   mat("清算报告或全体投资人承诺书", notes="简易注销提供全体投资人承诺书"),
                   mat("营业执照正、副本", source="government", ecert="business_licence",
                       notes="已领取电子营业执照的无需交回纸质执照以外的材料")],
        statutory=15, promised=3, process=standard_steps(3, "准予注销登记通知书"),
        depth="zero_visit", result="准予注销登记通知书", tongban="province",
        life_events=("company_closing",), themes=("market_entities",),
        keywords=("注销公司", "公司注销", "简易注销", "关闭企业"),
        form_schema=form("企业注销登记", {
            "company_name": text("企业名称", 60), "credit_code": text("统一社会信用代码", 18),
            "procedure": choice("注销方式", "一般注销", "简易注销"), "reason": text("注销原因", 200),
            "contact_phone": mobile("联系人手机号码")}),
        places=[place(NX_HALL, "企业开办专区 21-24 号窗口")],
    ),
]
