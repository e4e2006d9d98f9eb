"""The closed vocabularies of the catalogue: life events (人生事件 / 企业生命周期) and themes (主题).

They are closed on purpose: the mini-program's "按人生事件找" and "按主题找" screens are built from these lists,
and a free-text tag ("出身" for "出生") would silently drop a matter from its screen. A new tag is a code change
reviewed with the screen that shows it.
"""

from __future__ import annotations

LIFE_EVENTS: dict[str, str] = {
    # a person's life
    "birth": "出生",
    "schooling": "上学",
    "employment": "就业创业",
    "marriage": "婚姻",
    "housing": "住房",
    "medical": "就医",
    "retirement": "退休",
    "elderly_care": "养老",
    "hardship": "社会救助",
    "death": "身后事",
    # a company's life
    "company_opening": "开办企业",
    "company_operation": "经营",
    "company_closing": "注销",
}

THEMES: dict[str, str] = {
    "household_registration": "户籍",
    "identity_documents": "证件办理",
    "social_insurance": "社会保险",
    "medical_insurance": "医疗保障",
    "education": "教育",
    "housing_fund": "住房公积金",
    "real_estate": "不动产",
    "civil_affairs": "民政",
    "health": "卫生健康",
    "market_entities": "市场主体",
    "taxation": "税务",
    "prices_and_fees": "价格收费",
}


def check_life_event(value: str) -> str:
    if value not in LIFE_EVENTS:
        raise ValueError(f"未知的人生事件：{value}（可选：{'、'.join(LIFE_EVENTS)}）")
    return value


def check_theme(value: str) -> str:
    if value not in THEMES:
        raise ValueError(f"未知的主题：{value}（可选：{'、'.join(THEMES)}）")
    return value
