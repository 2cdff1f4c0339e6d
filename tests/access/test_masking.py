"""Masking personal data (qa.access.masking): phone, card and ID numbers and dates of birth in
English and Mandarin transcripts, keeping the last four digits; ordinary numbers stay."""

from __future__ import annotations

import pytest

from qa.access.masking import mask_personal_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call me back at 415 555 0134 please", "call me back at [phone ···0134] please"),
        ("my number is (415) 555-0134.", "my number is [phone ···0134]."),
        ("it's +1 415-555-0134", "it's [phone ···0134]"),
        ("five five five, two two two, three three three three", "[phone ···3333]"),
        ("double five five two two two three three three three", "[phone ···3333]"),
        ("card 4111 1111 1111 1111, expiry 12/27", "card [card ···1111], expiry 12/27"),
        ("paid 1500 dollars on 2026-11-20, 3 lines", "paid 1500 dollars on 2026-11-20, 3 lines"),
        ("Oh, one more thing: extension 1001.", "Oh, one more thing: extension 1001."),
        ("my date of birth is 12 March 1985", "my date of birth is [date of birth]"),
        ("born on March the twelfth, nineteen eighty five", "born on [date of birth]"),
        ("DOB 03/12/1985, postcode next", "DOB [date of birth], postcode next"),
        ("my birthday is March 12th", "my birthday is [date of birth]"),
        ("your trial ends on March 12, 2027", "your trial ends on March 12, 2027"),
        ("see you on the 5th of May", "see you on the 5th of May"),
    ],
)  # fmt: skip
def test_mask_personal_data_english(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的手机号是13812345678。", "我的手机号是[phone ···5678]。"),
        ("手机一三八一二三四五六七八", "手机[phone ···5678]"),
        ("号码是幺三八 零零幺三 八零零零", "号码是[phone ···8000]"),
        ("身份证号110105199003071234", "身份证号[ID ···1234]"),
        ("身份证 11010519900307123X，对吗", "身份证 [ID ···123X]，对吗"),
        ("银行卡号是6222 0212 3456 7890 123", "银行卡号是[card ···0123]"),
        ("+86 138 0013 8000", "[phone ···8000]"),
        ("我要办一个套餐，每月三十九元，两个人用", "我要办一个套餐，每月三十九元，两个人用"),
        ("我的出生日期是1985年3月12日", "我的出生日期是[date of birth]"),
        ("我是八五年三月十二号出生的", "我是[date of birth]出生的"),
        ("生日是三月十二号", "生日是[date of birth]"),
        ("试用期到二零二七年三月十二号结束", "试用期到二零二七年三月十二号结束"),
    ],
)  # fmt: skip
def test_mask_personal_data_mandarin(text: str, expected: str) -> None:
    assert mask_personal_data(text) == expected
