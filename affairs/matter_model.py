"""The guide of a matter (办事指南): every element a resident needs, said once and up front (一次告知).

The elements follow the standardised guide (GB/T 39554.1 and the provincial catalogue rules): what the matter is,
its legal basis, who implements it where, for whom, on which conditions, with which materials (and which of them an
e-certificate replaces, which may be handed in later — 容缺), how long it takes in working days, what it costs
(integer fen), the steps, how many visits it needs (最多跑一次), where and when, whom to call, where else it can be
done (通办), how to find it, and the form to fill in.

Every rule a guide can break on its own is a validator here, so an editor gets every bad field at once as a
422 naming it. Rules that need the database (does the department exist, is the region inside the
department's) are checked by `affairs.matters` and merged into the same answer.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from affairs.catalogue_tags import check_life_event, check_theme
from affairs.ecert_types import check_ecert_type
from affairs.form_schema import check_form_schema
from affairs.office_phone import OfficePhone
from storage.document_checks import Purpose

MATTER_CODE_PATTERN = r"^[0-9A-Z][0-9A-Z-]{3,39}$"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
LifeEvent = Annotated[str, AfterValidator(check_life_event)]
Theme = Annotated[str, AfterValidator(check_theme)]
EcertCode = Annotated[str, AfterValidator(check_ecert_type)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class MatterType(StrEnum):
    """事项类型 (the categories of the power and responsibility lists)."""

    LICENSING = "行政许可"
    CONFIRMATION = "行政确认"
    PAYMENT = "行政给付"
    LEVY = "行政征收"
    PUBLIC_SERVICE = "公共服务"
    OTHER_POWER = "其他行政权力"


class ServiceTarget(StrEnum):
    PERSON = "person"  # 自然人
    COMPANY = "company"  # 法人及其他组织


class MaterialSource(StrEnum):
    APPLICANT = "applicant"  # 申请人自备
    GOVERNMENT = "government"  # 政府部门核发
    THIRD_PARTY = "third_party"  # 其他机构出具（医院、银行、学校……）


class OnlineDepth(StrEnum):
    """How many visits the matter needs at most (the 最多跑一次 flags residents filter by)."""

    ZERO_VISIT = "zero_visit"  # 全程网办，一次都不用跑
    ONE_VISIT = "one_visit"  # 网上申请，最多跑一次
    ON_SITE = "on_site"  # 须到现场办理（负面清单：现场踏勘、听证……）


MAX_VISITS: dict[OnlineDepth, int | None] = {OnlineDepth.ZERO_VISIT: 0, OnlineDepth.ONE_VISIT: 1,
                                             OnlineDepth.ON_SITE: None}


class Tongban(StrEnum):
    """通办范围: where else the same matter can be handled."""

    LOCAL = "local"  # 仅在实施机构办理
    CITY = "city"  # 全市通办
    PROVINCE = "province"  # 全省通办
    NATIONWIDE = "nationwide"  # 跨省通办


class Material(Strict):
    name: ShortText = Field(description="材料名称", examples=["出生医学证明"])
    required: bool = Field(True, description="是否必需；非必需材料在“适用情形”中说明何时需要")
    original_count: int = Field(ge=0, le=20, description="原件份数（仅核验不收取的也计 1）")
    copy_count: int = Field(ge=0, le=20, description="复印件份数")
    source: MaterialSource = Field(description="来源渠道：applicant 申请人自备，government 政府部门核发，third_party 其他机构出具")
    source_detail: ShortText | None = Field(None, description="出具单位，如“助产机构”“不动产登记机构”")
    ecert_type: EcertCode | None = Field(None, description="可替代本材料的电子证照类型（免提交），见电子证照类型目录")
    defer_allowed: bool = Field(False, description="是否可容缺受理（先受理，规定时间内补交）")
    form_file_key: Annotated[str, StringConstraints(pattern=r"^forms/[A-Za-z0-9._/-]{1,200}$")] | None = Field(
        None, description="空白表格或示例样表在对象存储中的键（forms/ 开头）")
    notes: Text | None = Field(None, description="填写要求或适用情形")
    # Which kinds of upload this material takes (storage.document_checks.allowed_purposes reads it); empty, as
    # in every guide written before the field existed, means any kind.
    accepts: list[Purpose] = Field(default_factory=list, max_length=len(Purpose),
                                   description="可上传的文件类型：photo 照片，pdf PDF，ofd OFD；不填为不限")

    @field_validator("accepts")
    @classmethod
    def _accepts_unique(cls, values: list[Purpose]) -> list[Purpose]:
        if len(set(values)) != len(values):
            raise ValueError("不能有重复项")
        return values

    @field_validator("copy_count")
    @classmethod
    def _some_copy(cls, copies: int, info: ValidationInfo) -> int:
        if copies == 0 and info.data.get("original_count") == 0:
            raise ValueError("原件和复印件份数不能都为 0")
        return copies


class Fee(Strict):
    free: bool = Field(description="是否免费")
    amount_fen: int | None = Field(None, validate_default=True, description="收费金额，单位为分（整数）；免费时不填",
                                   examples=[1000])
    basis: Text | None = Field(None, validate_default=True, description="收费依据（文件名称及文号）；免费时不填")

    @field_validator("amount_fen", mode="before")
    @classmethod
    def _amount(cls, amount: Any, info: ValidationInfo) -> Any:
        free = info.data.get("free")
        if free is None:
            return amount  # `free` itself is wrong; that error is enough
        if free:
            if amount is not None:
                raise ValueError("免费事项不填写收费金额")
            return None
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError("收费金额以“分”为单位，须为整数（如 12.50 元填 1250）")
        if not 0 < amount <= 100_000_000:
            raise ValueError("收费金额须大于 0 分且不超过 100 万元")
        return amount

    @field_validator("basis")
    @classmethod
    def _basis(cls, basis: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("free") is False and not basis:
            raise ValueError("收费事项须写明收费依据")
        return basis


class Step(Strict):
    name: ShortText = Field(description="环节名称，如 申请、受理、审查、决定、送达", examples=["受理"])
    description: Text = Field(description="该环节做什么、由谁做")
    days: int | None = Field(None, ge=0, le=365, description="该环节时限（工作日），可不填")


class Channels(Strict):
    online: bool = Field(description="可在掌上办/网上申请")
    window: bool = Field(description="可到窗口申请")
    appointment: bool = Field(False, description="支持预约办理")
    delivery: bool = Field(False, description="办理结果可邮寄送达")


class Place(Strict):
    name: ShortText = Field(description="办理地点名称", examples=["宁乡市政务服务中心"])
    address: Text = Field(description="详细地址")
    hours: Text = Field(description="办理时间", examples=["周一至周五 9:00-12:00，13:30-17:00（法定节假日除外）"])
    window: ShortText | None = Field(None, description="窗口号，如“综合受理 8-12 号窗口”")


class MatterGuide(Strict):
    """The editable guide: what a department admin writes and what each published version freezes."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=60)] = Field(
        description="事项名称", examples=["出生医学证明首次签发"])
    type: MatterType = Field(description="事项类型")
    summary: Text = Field(description="事项简介：办什么、适用哪些情形")
    legal_basis: list[Text] = Field(min_length=1, max_length=20, description="设定依据（法律、法规、规章条款）")
    department_code: str = Field(description="实施部门的统一社会信用代码")
    region_code: str = Field(description="适用的行政区划：该区划及其下级的群众适用本事项")
    co_department_codes: list[str] = Field(
        default_factory=list, max_length=10,
        description="联办部门（并联审批）：受理后与实施部门同时审查的其他部门的统一社会信用代码")
    targets: list[ServiceTarget] = Field(min_length=1, max_length=2, description="服务对象：person 自然人，company 法人")
    conditions: list[Text] = Field(min_length=1, max_length=30, description="受理条件")
    materials: list[Material] = Field(max_length=60, description="申请材料")
    statutory_days: int = Field(gt=0, le=365, description="法定办结时限（工作日）")
    promised_days: int = Field(gt=0, le=365, description="承诺办结时限（工作日），不超过法定时限")
    instant: bool = Field(False, description="即办件：材料齐全时当场办结")
    fee: Fee = Field(description="收费标准")
    process: list[Step] = Field(min_length=1, max_length=20, description="办理流程")
    online_depth: OnlineDepth = Field(description="到现场次数：zero_visit 0 次，one_visit 最多 1 次，on_site 须现场办理")
    channels: Channels = Field(description="办理渠道")
    places: list[Place] = Field(max_length=10, description="办理地点和时间")
    consult_phone: OfficePhone = Field(description="咨询电话（固定电话或服务热线）")
    complaint_phone: OfficePhone = Field(description="监督投诉电话")
    tongban: Tongban = Field(description="通办范围：local 本地，city 全市，province 全省，nationwide 跨省")
    life_events: list[LifeEvent] = Field(max_length=5, description="所属人生事件（如 birth 出生、schooling 上学）")
    themes: list[Theme] = Field(max_length=5, description="所属主题（如 household_registration 户籍）")
    keywords: list[Keyword] = Field(max_length=20, description="检索关键词（同义词、俗称）")
    result: ShortText = Field(description="办理结果，如“出生医学证明”“营业执照”")
    result_ecert_type: EcertCode | None = Field(None, description="办理结果对应的电子证照类型")
    form_schema: dict[str, Any] = Field(description="申请表单（JSON Schema，字段标题为中文）")

    @field_validator("targets", "life_events", "themes", "keywords", "co_department_codes")
    @classmethod
    def _unique(cls, values: list[str]) -> list[str]:
        if len(set(values)) != len(values):
            raise ValueError("不能有重复项")
        return values

    @field_validator("promised_days")
    @classmethod
    def _promised_within_statutory(cls, promised: int, info: ValidationInfo) -> int:
        statutory = info.data.get("statutory_days")
        if statutory is not None and promised > statutory:
            raise ValueError(f"承诺时限（{promised} 个工作日）不能超过法定时限（{statutory} 个工作日）")
        return promised

    @field_validator("channels")
    @classmethod
    def _channels_match_depth(cls, channels: Channels, info: ValidationInfo) -> Channels:
        depth = info.data.get("online_depth")
        if not (channels.online or channels.window):
            raise ValueError("至少须支持网上申请或窗口申请中的一种")
        if depth in (OnlineDepth.ZERO_VISIT, OnlineDepth.ONE_VISIT) and not channels.online:
            raise ValueError("“不用跑”“最多跑一次”的事项须支持网上申请")
        return channels

    @field_validator("places")
    @classmethod
    def _place_for_windows(cls, places: list[Place], info: ValidationInfo) -> list[Place]:
        channels = info.data.get("channels")
        needs_place = info.data.get("online_depth") == OnlineDepth.ON_SITE or (channels and channels.window)
        if needs_place and not places:
            raise ValueError("支持窗口办理或须现场办理的事项须列出办理地点和时间")
        return places

    @field_validator("form_schema")
    @classmethod
    def _form_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        return check_form_schema(schema)


class MatterCreate(MatterGuide):
    """A new matter: its code and the guide of its first draft."""

    code: Annotated[str, StringConstraints(pattern=MATTER_CODE_PATTERN)] = Field(
        description="事项编码（大写字母、数字和连字符，4–40 位），创建后不能更改", examples=["430182-WJ-0001"])
