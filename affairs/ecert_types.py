"""The registry of electronic certificate (电子证照) types a material can be replaced by (免提交).

When a material names an e-certificate type, a resident whose certificate of that type is in the e-licence base
does not upload or bring it: the department fetches it by the holder's ID number. The registry is code, not a
collection, because each type needs an integration with its issuing system before it can replace anything;
adding a type here is that integration's first line. Codes are stable ASCII, names follow the national
e-licence catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EcertType:
    code: str
    name: str
    issuer: str  # the kind of authority that issues it
    holder: str  # "person" or "company"


_TYPES = (
    EcertType("birth_medical_certificate", "出生医学证明", "卫生健康部门（助产机构签发）", "person"),
    EcertType("household_register", "居民户口簿", "公安机关", "person"),
    EcertType("resident_id_card", "居民身份证", "公安机关", "person"),
    EcertType("residence_permit", "居住证", "公安机关", "person"),
    EcertType("marriage_certificate", "结婚证", "民政部门", "person"),
    EcertType("divorce_certificate", "离婚证", "民政部门", "person"),
    EcertType("death_medical_certificate", "居民死亡医学证明（推断）书", "卫生健康部门", "person"),
    EcertType("social_security_card", "社会保障卡", "人力资源社会保障部门", "person"),
    EcertType("medical_insurance_certificate", "医保电子凭证", "医疗保障部门", "person"),
    EcertType("vaccination_certificate", "预防接种证", "卫生健康部门", "person"),
    EcertType("disability_certificate", "残疾人证", "残疾人联合会", "person"),
    EcertType("retirement_certificate", "退休证", "人力资源社会保障部门", "person"),
    EcertType("graduation_certificate", "毕业证书", "教育部门", "person"),
    EcertType("minimum_living_certificate", "最低生活保障证", "民政部门", "person"),
    EcertType("driving_licence", "机动车驾驶证", "公安机关交通管理部门", "person"),
    EcertType("business_licence", "营业执照", "市场监督管理部门", "company"),
    EcertType("real_estate_certificate", "不动产权证书", "不动产登记机构", "person"),
    EcertType("real_estate_registration_certificate", "不动产登记证明", "不动产登记机构", "person"),
    EcertType("housing_fund_account_certificate", "住房公积金缴存证明", "住房公积金管理中心", "person"),
    EcertType("tax_payment_certificate", "完税证明", "税务部门", "person"),
)

ECERT_TYPES: dict[str, EcertType] = {t.code: t for t in _TYPES}


def check_ecert_type(code: str) -> str:
    """The code unchanged, or ValueError naming the problem in Chinese (used as a pydantic validator)."""
    if code not in ECERT_TYPES:
        raise ValueError(f"未知的电子证照类型：{code}")
    return code
