"""Building blocks of the demo catalogue: the demo city's regions and departments, and small helpers that
keep the thirty-odd guides in `demo_matters_*.py` readable (materials, places, steps, form fields).

The city is 长沙市 with 宁乡市 (where the demo people's ID numbers are registered: 430124 before 2017, 430182
since) and 岳麓区; codes follow GB/T 2260 and the statistics bureau's rules (镇街 9 digits: 001–099 街道,
100–199 镇; 村社区 12 digits: 001–199 社区, 200–399 村). Department codes are well-formed 统一社会信用代码
(`make_uscc`); telephone numbers are fictional office landlines in the 0731 area.
"""

from __future__ import annotations

from typing import Any

from affairs.departments import Department, DepartmentKind, make_uscc

CITY, NINGXIANG, YUELU = "430100", "430182", "430104"
YUTAN, HUAMINGLOU, YUELU_STREET = "430182001", "430182102", "430104005"

# (code, name, parent, former codes) — parents before children.
REGIONS: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    (CITY, "长沙市", None, ()),
    (NINGXIANG, "宁乡市", CITY, ("430124",)),
    (YUELU, "岳麓区", CITY, ()),
    (YUTAN, "玉潭街道", NINGXIANG, ()),
    (HUAMINGLOU, "花明楼镇", NINGXIANG, ()),
    (YUELU_STREET, "岳麓街道", YUELU, ()),
    ("430182001002", "香山社区", YUTAN, ()),
    ("430182102201", "炭子冲村", HUAMINGLOU, ()),
    ("430182102202", "刘家台村", HUAMINGLOU, ()),
    ("430104005003", "桃花岭社区", YUELU_STREET, ()),
)

NX_HALL_ADDRESS = "宁乡市玉潭街道新康路 88 号宁乡市市民之家"
_K = DepartmentKind
# key: (region, 8-char organisation-code body, organ "1" or public institution "2", name, kind, phone, address)
_DEPARTMENTS: dict[str, tuple[str, str, str, str, DepartmentKind, str, str]] = {
    "cs_fund": (CITY, "44488301", "2", "长沙住房公积金管理中心", _K.HOUSING_FUND, "0731-84581234",
                "长沙市岳麓区金星中路 383 号"),
    "nx_police": (NINGXIANG, "00618501", "1", "宁乡市公安局", _K.PUBLIC_SECURITY, "0731-87881110", NX_HALL_ADDRESS),
    "nx_hrss": (NINGXIANG, "00618502", "1", "宁乡市人力资源和社会保障局", _K.HUMAN_RESOURCES, "0731-87882333",
                NX_HALL_ADDRESS),
    "nx_medins": (NINGXIANG, "00618503", "1", "宁乡市医疗保障局", _K.HEALTHCARE_SECURITY, "0731-87883456",
                  NX_HALL_ADDRESS),
    "nx_estate": (NINGXIANG, "44488302", "2", "宁乡市不动产登记中心", _K.REAL_ESTATE, "0731-87884567",
                  NX_HALL_ADDRESS),
    "nx_edu": (NINGXIANG, "00618504", "1", "宁乡市教育局", _K.EDUCATION, "0731-87885678",
               "宁乡市玉潭街道一环路 268 号"),
    "nx_civil": (NINGXIANG, "00618505", "1", "宁乡市民政局", _K.CIVIL_AFFAIRS, "0731-87886789", NX_HALL_ADDRESS),
    "nx_health": (NINGXIANG, "00618506", "1", "宁乡市卫生健康局", _K.HEALTH, "0731-87887890",
                  "宁乡市玉潭街道人民中路 49 号"),
    "nx_market": (NINGXIANG, "00618507", "1", "宁乡市市场监督管理局", _K.MARKET_REGULATION, "0731-87888901",
                  NX_HALL_ADDRESS),
    "nx_tax": (NINGXIANG, "00618508", "1", "国家税务总局宁乡市税务局", _K.TAX, "0731-87889012", NX_HALL_ADDRESS),
    "nx_ndrc": (NINGXIANG, "00618509", "1", "宁乡市发展和改革局", _K.DEVELOPMENT_REFORM, "0731-87880123",
                "宁乡市玉潭街道花明北路 128 号"),
    "yl_market": (YUELU, "00709101", "1", "长沙市岳麓区市场监督管理局", _K.MARKET_REGULATION, "0731-88881201",
                  "长沙市岳麓区金星北路一段 517 号岳麓区政务服务中心"),
    "yl_edu": (YUELU, "00709102", "1", "长沙市岳麓区教育局", _K.EDUCATION, "0731-88881202",
               "长沙市岳麓区金星北路一段 517 号岳麓区政务服务中心"),
    "hml_center": (HUAMINGLOU, "44488303", "2", "宁乡市花明楼镇便民服务中心", _K.SERVICE_CENTER, "0731-87091234",
                   "宁乡市花明楼镇花明路 1 号"),
}

DEPT: dict[str, str] = {key: make_uscc(v[0], v[1], org_type=v[2]) for key, v in _DEPARTMENTS.items()}
DEPARTMENTS: tuple[Department, ...] = tuple(
    Department(code=DEPT[key], name=name, kind=kind, region_code=region, phone=phone, address=address)
    for key, (region, _, _, name, kind, phone, address) in _DEPARTMENTS.items()
)
DEPARTMENT_BY_CODE = {d.code: d for d in DEPARTMENTS}

# -- guide helpers --------------------------------------------------------------------------------------------
HOURS = "周一至周五 9:00-12:00，13:30-17:00（法定节假日除外）；周六 9:00-12:00 延时服务"
NX_HALL = {"name": "宁乡市市民之家", "address": NX_HALL_ADDRESS, "hours": HOURS}
YL_HALL = {"name": "岳麓区政务服务中心", "address": "长沙市岳麓区金星北路一段 517 号", "hours": HOURS}
FREE: dict[str, Any] = {"free": True, "amount_fen": None, "basis": None}
FORM_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def place(base: dict[str, str], window: str) -> dict[str, str]:
    return {**base, "window": window}


def mat(name: str, *, source: str = "applicant", original: int = 1, copies: int = 0, required: bool = True,
        ecert: str | None = None, defer: bool = False, detail: str | None = None, form_key: str | None = None,
        notes: str | None = None) -> dict[str, Any]:
    return {"name": name, "required": required, "original_count": original, "copy_count": copies,
            "source": source, "source_detail": detail, "ecert_type": ecert, "defer_allowed": defer,
            "form_file_key": form_key, "notes": notes}


def id_card(who: str = "申请人", *, required: bool = True) -> dict[str, Any]:
    return mat(f"{who}居民身份证", source="government", detail="公安机关", ecert="resident_id_card",
               required=required, notes="核验原件，不收取；已在掌上办实名认证的免提交")


def household_register(who: str = "申请人") -> dict[str, Any]:
    return mat(f"{who}居民户口簿", source="government", detail="公安机关", ecert="household_register",
               notes="户主页及本人页；可调取电子证照的免提交")


def marriage_certificate(*, required: bool = True, notes: str | None = None) -> dict[str, Any]:
    return mat("结婚证", source="government", detail="民政部门", ecert="marriage_certificate", required=required,
               notes=notes or "可调取电子证照的免提交")


def birth_certificate() -> dict[str, Any]:
    return mat("出生医学证明", source="third_party", detail="助产机构", ecert="birth_medical_certificate",
               notes="新生儿出生后由助产机构签发；可调取电子证照的免提交")


def bank_card(who: str = "申请人") -> dict[str, Any]:
    return mat(f"{who}本人银行账户（社会保障卡金融账户或一类银行卡）", original=1, required=True,
               notes="用于发放资金，核对账号后不收取")


def steps(*items: tuple[str, str, int | None]) -> list[dict[str, Any]]:
    return [{"name": name, "description": description, "days": days} for name, description, days in items]


def standard_steps(decide_days: int, result: str) -> list[dict[str, Any]]:
    return steps(
        ("申请", "在掌上办在线填写申请并上传材料，或到窗口提交", None),
        ("受理", "窗口或后台审核材料是否齐全、符合法定形式，当场作出受理或一次性告知补正", 0),
        ("审查", "对申请材料的实质内容进行审查，必要时核实", max(decide_days - 1, 0)),
        ("决定", f"作出决定，制发{result}", 1),
        ("送达", "电子证照即时推送；纸质结果可窗口领取或免费邮寄", None),
    )


# -- form-schema helpers (fields of the application form, Chinese titles) ------------------------------------
def text(title: str, max_length: int = 50, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "title": title, "minLength": 1, "maxLength": max_length, **extra}


def date(title: str) -> dict[str, Any]:
    return {"type": "string", "format": "date", "title": title}


def choice(title: str, *options: str) -> dict[str, Any]:
    return {"type": "string", "title": title, "enum": list(options)}


def number(title: str, minimum: int = 0, maximum: int | None = None) -> dict[str, Any]:
    return {"type": "integer", "title": title, "minimum": minimum, **({"maximum": maximum} if maximum else {})}


def id_number(title: str = "公民身份号码") -> dict[str, Any]:
    return {"type": "string", "title": title, "pattern": "^[0-9]{17}[0-9Xx]$"}


def mobile(title: str = "联系电话") -> dict[str, Any]:
    return {"type": "string", "title": title, "pattern": "^1[3-9][0-9]{9}$"}


def form(title: str, fields: dict[str, dict[str, Any]], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"$schema": FORM_SCHEMA_DIALECT, "title": title, "type": "object", "properties": fields,
            "required": [name for name in fields if name not in optional], "additionalProperties": False}


def applicant_fields() -> dict[str, dict[str, Any]]:
    return {"applicant_name": text("申请人姓名", 30), "applicant_id_number": id_number("申请人公民身份号码"),
            "applicant_phone": mobile()}


def matter(code: str, name: str, *, dept: str, type: str, summary: str, basis: list[str],
           conditions: list[str], materials: list[dict[str, Any]], statutory: int, promised: int,
           process: list[dict[str, Any]], depth: str, result: str, form_schema: dict[str, Any],
           region: str | None = None, targets: tuple[str, ...] = ("person",), instant: bool = False,
           fee: dict[str, Any] | None = None, places: list[dict[str, str]] | None = None,
           channels: dict[str, bool] | None = None, tongban: str = "local", life_events: tuple[str, ...] = (),
           themes: tuple[str, ...] = (), keywords: tuple[str, ...] = (), result_ecert: str | None = None,
           consult: str | None = None, complaint: str = "12345", co_departments: tuple[str, ...] = ()
           ) -> dict[str, Any]:
    """One complete guide, as the create endpoint takes it (department code resolved from its key)."""
    department = DEPARTMENT_BY_CODE[DEPT[dept]]
    return {
        "code": code, "name": name, "type": type, "summary": summary, "legal_basis": basis,
        "department_code": department.code, "region_code": region or department.region_code,
        "co_department_codes": [DEPT[key] for key in co_departments],
        "targets": list(targets), "conditions": conditions, "materials": materials,
        "statutory_days": statutory, "promised_days": promised, "instant": instant, "fee": fee or FREE,
        "process": process, "online_depth": depth,
        "channels": channels or {"online": True, "window": True, "appointment": True,
                                 "delivery": depth == "zero_visit"},
        "places": places if places is not None else [place(NX_HALL, "综合受理窗口")],
        "consult_phone": consult or department.phone, "complaint_phone": complaint, "tongban": tongban,
        "life_events": list(life_events), "themes": list(themes), "keywords": list(keywords),
        "result": result, "result_ecert_type": result_ecert, "form_schema": form_schema,
    }
