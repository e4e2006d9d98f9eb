"""Pre-filling a new form from the applicant's identity and earlier answers (免填写), without carrying numbers."""

from __future__ import annotations

from affairs.case_forms import prefill

SCHEMA = {
    "type": "object",
    "properties": {
        "applicant_name": {"type": "string"},
        "applicant_id_number": {"type": "string"},
        "address": {"type": "string"},
        "contact_phone": {"type": "string", "pattern": "^1[3-9]\\d{9}$"},
        "spouse_id_number": {"type": "string"},
        "right_holders": {"type": "array", "items": {"type": "object", "properties": {
            "name": {"type": "string"}, "id_number": {"type": "string"}, "share": {"type": "number"}}}},
    },
}
EARLIER = {
    "applicant_name": "王*芳", "applicant_id_number": "430124********2816", "address": "玉潭街道新康路 8 号",
    "spouse_id_number": "430124********1234",
    "right_holders": [{"name": "王芳", "id_number": "430124********2816", "share": 0.5},
                      {"name": "李强", "id_number": "430124********1234", "share": 0.5}],
}


def test_identity_then_earlier_answers_without_any_number() -> None:
    identity = {"applicant_name": "王*芳", "applicant_id_number": "430124********2816"}
    values = prefill(SCHEMA, identity, EARLIER)
    assert values == {
        "applicant_name": "王*芳", "applicant_id_number": "430124********2816", "address": "玉潭街道新康路 8 号",
        "right_holders": [{"name": "王芳", "share": 0.5}, {"name": "李强", "share": 0.5}],
    }
    assert EARLIER["right_holders"][0]["id_number"] == "430124********2816"  # the earlier case is not touched


def test_nothing_earlier_gives_the_identity_alone() -> None:
    assert prefill(SCHEMA, {"applicant_name": "王*芳"}, {}) == {"applicant_name": "王*芳"}
