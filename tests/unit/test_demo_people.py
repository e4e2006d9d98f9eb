"""The demo people are real-looking data: every ID number passes every GB 11643 rule and agrees with the
person's birth date, gender and region; phones are valid and in the fake range; the family is consistent."""

from __future__ import annotations

from accounts.citizen_id import parse_citizen_id
from accounts.phone import parse_cn_mobile
from simulators.demo_people import DEMO_PEOPLE, by_key, children_of


def test_every_id_number_is_valid_and_agrees_with_the_person() -> None:
    for person in DEMO_PEOPLE:
        parsed = parse_citizen_id(person.id_number)
        assert (parsed.birth_date, parsed.gender, parsed.region_code) == (
            person.birth_date, person.gender, person.region_code), person


def test_numbers_and_keys_are_unique_and_phones_obviously_fake() -> None:
    assert len({p.id_number for p in DEMO_PEOPLE}) == len({p.key for p in DEMO_PEOPLE}) == len(DEMO_PEOPLE)
    assert len({p.phone for p in DEMO_PEOPLE}) == len(DEMO_PEOPLE)
    for person in DEMO_PEOPLE:
        assert person.phone.startswith("1380000") and len(person.phone) == 11
        parse_cn_mobile(person.phone)


def test_two_school_age_children_with_both_parents() -> None:
    children = children_of("chen-zhiqiang")
    assert [c.key for c in children] == [c.key for c in children_of("li-xiulan")] == ["chen-siyuan", "chen-yutong"]
    for child in children:
        assert 2014 <= child.birth_date.year <= 2018 and child.is_minor
        assert all(by_key(g).role == "parent" and not by_key(g).is_minor for g in child.guardians)
    assert {p.role for p in DEMO_PEOPLE} == {"resident", "parent", "staff"}


def test_repr_never_shows_full_numbers() -> None:
    for person in DEMO_PEOPLE:
        assert person.id_number not in repr(person) and person.phone not in repr(person)
