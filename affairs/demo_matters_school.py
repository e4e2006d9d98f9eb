"""Demo guides of the 入学一件事 bundle and other education matters: primary and junior-middle enrolment in
宁乡 and 岳麓 (the same matter in two districts), transfers, student aid."""

from __future__ import annotations

from typing import Any

from affairs.demo_kit import (
    YL_HALL,
    YUELU,
    choice,
    date,
    form,
    household_register,
    id_card,
    id_number,
    mat,
    matter,
    mobile,
    place,
    standard_steps,
    steps,
    text,
)

_ENROL_BASIS = ["《中华人民共和国义务教育法》第十二条", "《湖南省实施〈中华人民共和国义务教育法〉办法》",
                "《教育部办公厅关于做好义务教育招生入学工作的通知》"]


def _enrolment_form(stage: str) -> dict[str, Any]:
    fields = {
        "student_name": text("学生姓名", 30), "student_id_number": id_number("学生公民身份号码"),
        "student_gender": choice("性别", "男", "女"), "student_birth_date": date("出生日期"),
        "household_address": text("户籍地址", 100), "residence_address": text("实际居住地址", 100),
        "residence_proof": choice("居住证明类型", "不动产权证书", "购房合同", "租赁合同（已备案）"),
        "guardian_name": text("监护人姓名", 30), "guardian_relation": choice("与学生关系", "父亲", "母亲", "其他监护人"),
        "guardian_phone": mobile("监护人联系电话"),
    }
    if stage == "junior":
        fields["primary_school"] = text("小学毕业学校", 60)
    return form(f"义务教育{'初中' if stage == 'junior' else '小学'}入学登记", fields)


def _enrolment(code: str, name: str, *, dept: str, stage: str, region: str | None = None,
               places: list[dict[str, str]] | None = None, consult: str | None = None) -> dict[str, Any]:
    age = "年满 6 周岁（当年 8 月 31 日前出生）" if stage == "primary" else "应届小学毕业生"
    return matter(
        code, name, dept=dept, type="公共服务", region=region, places=places, consult=consult,
        summary=f"适龄儿童少年{'入读小学一年级' if stage == 'primary' else '升入初中一年级'}，由监护人在规定时间内"
                "在线登记户籍和居住信息，教育部门按“划片招生、就近入学”原则安排学位。",
        basis=_ENROL_BASIS,
        conditions=[age, "学生户籍或父母一方合法稳定居所在本学区内",
                    "随迁子女须父母一方在本地有合法稳定就业和居所（居住证满 1 年）"],
        materials=[household_register("学生"), id_card("监护人"),
                   mat("房屋产权证明或租赁备案证明", source="government", detail="不动产登记机构或住建部门",
                       ecert="real_estate_certificate", notes="自有住房提供不动产权证书；租房提供备案的租赁合同"),
                   mat("预防接种证", source="third_party", detail="预防接种门诊", ecert="vaccination_certificate",
                       notes="入学查验，可调取电子证照的免提交", required=stage == "primary"),
                   mat("居住证", source="government", detail="公安机关", ecert="residence_permit", required=False,
                       notes="随迁子女提供")],
        statutory=20, promised=15,
        process=steps(("网上登记", "每年 7 月上旬在掌上办填写入学信息并上传材料", None),
                      ("资格审核", "学校与教育局联合审核户籍、房产和居住信息，信息共享核验的免提交纸质材料", 10),
                      ("学位分配", "按学区划分结果分配学位，在掌上办公布", 4),
                      ("报到", "按通知时间到学校报到（最多跑一次）", 1)),
        depth="one_visit", result="入学通知书", life_events=("schooling",), themes=("education",),
        keywords=("入学", "上学", "一年级报名" if stage == "primary" else "小升初", "新生报名", "学位申请"),
        form_schema=_enrolment_form(stage),
    )


SCHOOL_MATTERS: list[dict[str, Any]] = [
    _enrolment("430182-JY-0001", "义务教育入学登记（小学）", dept="nx_edu", stage="primary"),
    _enrolment("430182-JY-0002", "义务教育入学登记（初中）", dept="nx_edu", stage="junior"),
    _enrolment("430104-JY-0001", "义务教育入学登记（小学）", dept="yl_edu", stage="primary", region=YUELU,
               places=[place(YL_HALL, "教育 3 号窗口")]),
    matter(
        "430182-JY-0003", "义务教育阶段转学申请", dept="nx_edu", type="公共服务",
        summary="义务教育阶段学生因户籍迁移、家庭搬迁等原因需要转学的，由监护人提出申请，转出、转入学校和教育局审核办理。",
        basis=["《中华人民共和国义务教育法》第十二条", "《中小学生学籍管理办法》第十四条"],
        conditions=["学生具有全国中小学生学籍", "转入学校有空余学位", "转学原因属户籍迁移、家庭搬迁等规定情形"],
        materials=[household_register("学生"), id_card("监护人"),
                   mat("转学申请表", form_key="forms/school-transfer-application.pdf", notes="监护人签字"),
                   mat("转学原因证明（户籍迁移证明或新居住地房产、租赁证明）", source="government",
                       ecert="real_estate_certificate", defer=True, notes="可容缺受理，10 个工作日内补交")],
        statutory=15, promised=10, process=standard_steps(10, "转学联系函"),
        depth="one_visit", result="转学联系函（学籍系统同步转接）", tongban="province",
        life_events=("schooling",), themes=("education",), keywords=("转学", "转校", "学籍转接"),
        form_schema=form("转学申请", {"student_name": text("学生姓名", 30),
                                    "student_id_number": id_number("学生公民身份号码"),
                                    "current_school": text("现就读学校", 60), "grade": choice(
                                        "年级", "一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级",
                                        "八年级", "九年级"),
                                    "target_school": text("拟转入学校", 60), "reason": text("转学原因", 200),
                                    "guardian_phone": mobile("监护人联系电话")}),
    ),
    matter(
        "430182-JY-0004", "家庭经济困难学生认定及资助申请", dept="nx_edu", type="行政给付",
        summary="家庭经济困难的在校学生申请认定，认定后按规定享受国家助学金、生活补助等资助。",
        basis=["《教育部等六部门关于做好家庭经济困难学生认定工作的指导意见》（教财〔2018〕16号）",
               "《湖南省学生资助管理办法》"],
        conditions=["具有本市正式学籍的在校学生", "家庭经济困难，或属于低保、特困、残疾等特殊困难群体"],
        materials=[id_card("监护人"), household_register("学生"),
                   mat("家庭经济困难学生认定申请表", form_key="forms/student-aid-application.pdf"),
                   mat("最低生活保障证或特困人员救助供养证", source="government", detail="民政部门",
                       ecert="minimum_living_certificate", required=False, notes="属低保、特困家庭的提供"),
                   mat("残疾人证", source="government", detail="残疾人联合会", ecert="disability_certificate",
                       required=False, notes="学生或父母为残疾人的提供")],
        statutory=30, promised=20, process=standard_steps(20, "资助认定结果"),
        depth="zero_visit", result="资助认定结果（资助资金发放至学生资助卡）", tongban="local",
        life_events=("schooling", "hardship"), themes=("education",),
        keywords=("助学金", "贫困生", "学生资助", "困难认定"),
        form_schema=form("家庭经济困难学生认定申请", {
            "student_name": text("学生姓名", 30), "student_id_number": id_number("学生公民身份号码"),
            "school": text("就读学校", 60), "family_size": {"type": "integer", "title": "家庭人口数", "minimum": 1},
            "hardship_type": choice("困难类型", "低保家庭", "特困供养", "残疾", "因病因灾", "其他"),
            "description": text("家庭经济情况说明", 500), "guardian_phone": mobile("监护人联系电话")}),
    ),
]
