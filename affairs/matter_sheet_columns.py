"""The xlsx layout of the catalogue, defined once: the blank template, the parser and the export are all built
from these definitions, so the three can never drift apart.

A guide has three lists of records (materials, process steps, places). A department admin fills those best as
rows, so the workbook has one sheet of matters (one row each) and one sheet per list, each row keyed by the
matter's code (事项编码) and kept in row order. Lists of sentences (设定依据, 受理条件) are lines inside one cell,
tags are 、-separated words, and the form schema is JSON in one cell. Headers are Chinese and matched by text,
so columns may be reordered and extra columns (notes) are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from affairs.catalogue_tags import LIFE_EVENTS, THEMES
from affairs.ecert_types import ECERT_TYPES
from affairs.matter_model import MatterType
from affairs.sheet_cells import CellKind as K

CODE_HEADER = "事项编码"
GUIDE_SHEET_NOTE = "填写说明"


def _labels(pairs: dict[str, str]) -> Mapping[str, str]:
    return MappingProxyType(pairs)


MATTER_TYPES = _labels({t.value: t.value for t in MatterType})
TARGETS = _labels({"person": "自然人", "company": "法人"})
SOURCES = _labels({"applicant": "申请人自备", "government": "政府部门核发", "third_party": "其他机构出具"})
DEPTHS = _labels({"zero_visit": "不用跑", "one_visit": "最多跑一次", "on_site": "须现场办理"})
TONGBAN = _labels({"local": "本地办理", "city": "全市通办", "province": "全省通办", "nationwide": "跨省通办"})
ECERTS = _labels({code: t.name for code, t in ECERT_TYPES.items()})
UPLOAD_KINDS = _labels({"photo": "照片", "pdf": "PDF", "ofd": "OFD"})


@dataclass(frozen=True, slots=True, eq=False)  # compared and hashed by identity: one object per column
class Column:
    header: str
    path: str  # dotted path in the create body; on a list sheet, inside one item of the list
    kind: K
    hint: str
    required: bool = False  # the column must be present (the guide model decides whether a cell may be blank)
    labels: Mapping[str, str] | None = None
    width: int = 14


@dataclass(frozen=True, slots=True)
class Sheet:
    title: str
    list_field: str | None  # None: the matters sheet; else the guide's list each row is an item of
    columns: tuple[Column, ...]

    def by_header(self) -> dict[str, Column]:
        return {column.header: column for column in self.columns}


_CODE = Column(CODE_HEADER, "code", K.TEXT, "大写字母、数字和连字符，4–40 位，如 430182-WJ-0001", True, width=20)

MATTERS = Sheet("事项", None, (
    _CODE,
    Column("事项名称", "name", K.TEXT, "2–60 字", True, width=24),
    Column("事项类型", "type", K.ENUM, "从下拉列表选择", True, MATTER_TYPES, width=12),
    Column("简介", "summary", K.TEXT, "办什么、适用哪些情形", True, width=36),
    Column("设定依据", "legal_basis", K.LINES, "法律、法规、规章条款，每行一条（Alt+回车换行）", True, width=36),
    Column("实施部门编码", "department_code", K.TEXT,
           "实施部门的统一社会信用代码（18 位）；留空即导入到的部门", True, width=22),
    Column("适用区划代码", "region_code", K.TEXT, "6 / 9 / 12 位行政区划代码，须在实施部门辖区内", True, width=14),
    Column("联办部门编码", "co_department_codes", K.LINES,
           "并联审批的其他部门的统一社会信用代码，每行一个；没有则留空", width=22),
    Column("服务对象", "targets", K.TAGS, "自然人、法人，多个用顿号分隔", True, TARGETS, width=12),
    Column("受理条件", "conditions", K.LINES, "每行一条", True, width=36),
    Column("法定时限（工作日）", "statutory_days", K.INT, "大于 0 的整数", True, width=10),
    Column("承诺时限（工作日）", "promised_days", K.INT, "大于 0 的整数，不超过法定时限", True, width=10),
    Column("即办件", "instant", K.BOOL, "是 / 否，留空为否", width=8),
    Column("是否免费", "fee.free", K.BOOL, "是 / 否", True, width=8),
    Column("收费金额（分）", "fee.amount_fen", K.INT, "整数，单位为分（12.50 元填 1250）；免费留空", width=12),
    Column("收费依据", "fee.basis", K.TEXT, "收费文件名称及文号；免费留空", width=24),
    Column("跑动次数", "online_depth", K.ENUM, "从下拉列表选择", True, DEPTHS, width=12),
    Column("网上申请", "channels.online", K.BOOL, "是 / 否", True, width=8),
    Column("窗口申请", "channels.window", K.BOOL, "是 / 否", True, width=8),
    Column("预约办理", "channels.appointment", K.BOOL, "是 / 否，留空为否", width=8),
    Column("结果邮寄", "channels.delivery", K.BOOL, "是 / 否，留空为否", width=8),
    Column("咨询电话", "consult_phone", K.TEXT, "固定电话或服务热线，如 0731-87654321、12345", True, width=16),
    Column("投诉电话", "complaint_phone", K.TEXT, "固定电话或服务热线", True, width=16),
    Column("通办范围", "tongban", K.ENUM, "从下拉列表选择", True, TONGBAN, width=12),
    Column("人生事件", "life_events", K.TAGS, "多个用顿号分隔，可不填", True, _labels(LIFE_EVENTS), width=14),
    Column("主题", "themes", K.TAGS, "多个用顿号分隔，可不填", True, _labels(THEMES), width=14),
    Column("关键词", "keywords", K.TAGS, "同义词、俗称，多个用顿号分隔", True, width=20),
    Column("办理结果", "result", K.TEXT, "如 出生医学证明、营业执照", True, width=16),
    Column("结果电子证照", "result_ecert_type", K.ENUM, "办理结果对应的电子证照类型，可不填", False, ECERTS, width=16),
    Column("申请表单（JSON Schema）", "form_schema", K.JSON,
           "JSON Schema：type 为 object，每个字段有中文 title", True, width=40),
))

MATERIALS = Sheet("申请材料", "materials", (
    _CODE,
    Column("材料名称", "name", K.TEXT, "1–60 字", True, width=24),
    Column("是否必需", "required", K.BOOL, "是 / 否，留空为是", width=8),
    Column("原件份数", "original_count", K.INT, "0–20，与复印件份数不能都为 0", True, width=8),
    Column("复印件份数", "copy_count", K.INT, "0–20", True, width=8),
    Column("来源渠道", "source", K.ENUM, "从下拉列表选择", True, SOURCES, width=12),
    Column("出具单位", "source_detail", K.TEXT, "如 助产机构，可不填", width=16),
    Column("可替代的电子证照", "ecert_type", K.ENUM, "有该电子证照的申请人免提交，可不填", False, ECERTS, width=16),
    Column("可容缺受理", "defer_allowed", K.BOOL, "是 / 否，留空为否", width=8),
    Column("空白表格文件", "form_file_key", K.TEXT, "对象存储中的键，forms/ 开头，可不填", width=20),
    Column("填写要求", "notes", K.TEXT, "可不填", width=30),
    Column("可上传格式", "accepts", K.TAGS, "照片、PDF、OFD，多个用顿号分隔；留空为不限", False, UPLOAD_KINDS, width=14),
))

STEPS = Sheet("办理流程", "process", (
    _CODE,
    Column("环节名称", "name", K.TEXT, "如 申请、受理、审查、决定、送达", True, width=14),
    Column("环节说明", "description", K.TEXT, "该环节做什么、由谁做", True, width=40),
    Column("环节时限（工作日）", "days", K.INT, "0–365 的整数，可不填", width=10),
))

PLACES = Sheet("办理地点", "places", (
    _CODE,
    Column("地点名称", "name", K.TEXT, "如 宁乡市政务服务中心", True, width=22),
    Column("详细地址", "address", K.TEXT, "具体到门牌号和楼层", True, width=32),
    Column("办理时间", "hours", K.TEXT, "如 周一至周五 9:00-12:00，13:30-17:00", True, width=32),
    Column("窗口", "window", K.TEXT, "如 综合受理 8-12 号窗口，可不填", width=18),
))

SHEETS: tuple[Sheet, ...] = (MATTERS, MATERIALS, STEPS, PLACES)
LIST_SHEETS: tuple[Sheet, ...] = (MATERIALS, STEPS, PLACES)
SHEET_OF_LIST: dict[str, Sheet] = {sheet.list_field: sheet for sheet in LIST_SHEETS if sheet.list_field}
