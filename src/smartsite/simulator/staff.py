"""The people of the simulated city: who holds which post on which project, with what
certificates — and the deliberate anomalies later scenarios must detect.

Staffing follows the registrations a Shanghai 报建 filing carries:

* 施工单位: 项目经理, 项目技术负责人, 施工员, 质量员 and 专职安全生产管理人员 — as many as
  建质〔2008〕91号 第十三条 asks for (building: < 1万 m² floor area 1, 1–5万 m² 2, more 3;
  municipal: < 5,000万元 1, 5,000万–1亿元 2, more 3);
* 监理单位: 总监理工程师 and one or two 专业监理工程师;
* 建设/勘察/设计/监测单位: one project lead each, who may lead several projects of their
  company at once (that is allowed, unlike a 项目经理 on two live sites).

Contractor and supervisor staff are new people per project, or — for most openings
where one is free — someone of the same company whose earlier project has finished. Every
current 项目经理 of a live project holds a valid 建造师 registration except where an
anomaly is planted on purpose.

Certificates: issuers and validity follow the registration rules as commonly applied
(注册建造师, 注册监理工程师, 安全生产考核合格证书: 3 years; 注册建筑师: 2 years). About 3 %
are expired and 6 % expire within 30 days of `today`. Certificate numbers have the shape of
real ones (``沪1312019…``, ``沪建安C（2021）…``) but are invented.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from smartsite.core.choices import PartyRole, ProjectKind, ProjectStatus, QualificationKind
from smartsite.core.models import Person, Post, PostAssignment, Qualification
from smartsite.core.validators import make_resident_id
from smartsite.simulator import names

__all__ = ["ANOMALY_KINDS", "Staffing"]

MOHURD = "住房和城乡建设部"
SH_COMMISSION = "上海市住房和城乡建设管理委员会"
PROVINCE_COMMISSIONS = {"32": ("苏", "江苏省住房和城乡建设厅"), "33": ("浙", "浙江省住房和城乡建设厅")}

VALIDITY_YEARS = {QualificationKind.ARCHITECT: 2}  # others: 3

#: Ages (years at `today`) of the people on each post.
AGES = {
    "project_manager": (32, 58), "technical_lead": (30, 55), "safety_officer": (25, 58),
    "construction_worker_lead": (24, 55), "quality_inspector": (24, 55),
    "chief_supervising_engineer": (35, 64), "supervising_engineer": (26, 60),
    "owner_lead": (30, 58), "survey_lead": (32, 60), "design_lead": (32, 60),
    "monitoring_lead": (30, 58),
}
#: Posts filled from the company's bench (people whose project has finished) when possible.
BENCHED = {"project_manager", "technical_lead", "safety_officer", "construction_worker_lead",
           "quality_inspector", "chief_supervising_engineer", "supervising_engineer"}
#: Posts whose holder may lead several projects of the company at once.
POOLED = {"owner_lead", "survey_lead", "design_lead", "monitoring_lead"}

ANOMALY_KINDS = ("身兼多岗", "建造师证书过期", "配备不足")
CONSTRUCTOR = (QualificationKind.CONSTRUCTOR_1, QualificationKind.CONSTRUCTOR_2)

#: Certificate numbers: the shape of real ones, invented digits ({p}{c}: 沪 31, 苏 32 …).
CERT_NUMBERS = {
    QualificationKind.CONSTRUCTOR_1: "沪131{y}{seq:07d}",
    QualificationKind.CONSTRUCTOR_2: "{p}2{c}{y}{seq:07d}",
    QualificationKind.SUPERVISING_ENGINEER: "31{seq:06d}",
    QualificationKind.SAFETY_A: "沪建安A（{y}）{seq:07d}",
    QualificationKind.SAFETY_B: "沪建安B（{y}）{seq:07d}",
    QualificationKind.SAFETY_C: "沪建安C（{y}）{seq:07d}",
    QualificationKind.STRUCTURAL_ENGINEER: "S31{y}{seq:05d}",
    QualificationKind.GEOTECHNICAL_ENGINEER: "AY31{y}{seq:05d}",
    QualificationKind.ARCHITECT: "A31{y}{seq:05d}",
}


@dataclass
class Slot:
    """One post assignment being generated."""

    plan: object  # city.Plan
    post: str
    person: int  # index into Staffing.people
    start: date
    end: date | None


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


class Staffing:
    """Draws people, certificates and assignments for a list of `city.Plan` (saved projects
    and enterprises), then writes them with `save()`."""

    def __init__(self, rng: random.Random, today: date, plans: list):
        self.rng, self.today, self.plans = rng, today, plans
        self.posts = {p.code: p for p in Post.objects.all()}
        self.people: list[Person] = []
        self.quals: dict[int, list[Qualification]] = defaultdict(list)
        self.slots: list[Slot] = []
        self.resident_ids = set(Person.objects.values_list("resident_id", flat=True))
        self.cert_numbers = set(Qualification.objects.values_list("kind", "number"))
        self.cert_seq: dict[str, int] = {}
        self.bench: dict[tuple[int, str], list[tuple[date, int]]] = defaultdict(list)
        self.pool: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.changed: set[str] = set()  # permit_no of projects whose PM or 总监 changed
        self._open: dict | None = None

    # -- people --------------------------------------------------------------------------

    def _person(self, post: str, employer) -> int:
        rng = self.rng
        lo, hi = AGES[post]
        birth = self.today - timedelta(days=rng.randint(lo * 365 + 10, hi * 365 + 300))
        gender = "M" if rng.random() < 0.88 else "F"
        region = names.id_region_code(rng)
        while True:
            rid = make_resident_id(rng, region_code=region, birth=birth, gender=gender)
            if rid not in self.resident_ids:
                break
        self.resident_ids.add(rid)
        person = Person(resident_id=rid, name=names.person_name(rng), phone=names.mobile(rng),
                        employer=employer)
        self.people.append(person)
        index = len(self.people) - 1
        for kind in self._cert_kinds(post):
            self.quals[index].append(self._certificate(person, kind))
        return index

    def _cert_kinds(self, post: str) -> list[str]:
        r = self.rng.random()
        q = QualificationKind
        if post == "project_manager":
            return [q.CONSTRUCTOR_1 if r < 0.7 else q.CONSTRUCTOR_2, q.SAFETY_B]
        if post == "technical_lead":
            return [q.CONSTRUCTOR_1] if r < 0.35 else [q.CONSTRUCTOR_2] if r < 0.6 else []
        if post == "safety_officer":
            return [q.SAFETY_C]
        if post in ("construction_worker_lead", "quality_inspector"):
            return [q.OTHER] if r < 0.9 else []
        if post == "chief_supervising_engineer":
            return [q.SUPERVISING_ENGINEER]
        if post == "supervising_engineer":
            return [q.SUPERVISING_ENGINEER] if r < 0.6 else []
        if post == "survey_lead":
            return [q.GEOTECHNICAL_ENGINEER]
        if post == "design_lead":
            return [q.ARCHITECT if r < 0.5 else q.STRUCTURAL_ENGINEER]
        if post == "monitoring_lead":
            return [q.GEOTECHNICAL_ENGINEER] if r < 0.6 else []
        return []

    def _certificate(self, person: Person, kind: str) -> Qualification:
        rng, q = self.rng, QualificationKind
        years = VALIDITY_YEARS.get(kind, 3)
        r = rng.random()
        if r < 0.03:
            expires = self.today - timedelta(days=rng.randint(1, 400))
        elif r < 0.09:
            expires = self.today + timedelta(days=rng.randint(0, 30))
        else:
            expires = self.today + timedelta(days=rng.randint(31, years * 365 - 1))
        issued = _years_before(expires, years) + timedelta(days=1)
        issuer, prefix = SH_COMMISSION, ("沪", "31")
        home = PROVINCE_COMMISSIONS.get(person.resident_id[:2])
        if kind == q.CONSTRUCTOR_2 and home and rng.random() < 0.3:
            issuer, prefix = home[1], (home[0], person.resident_id[:2])
        elif kind in (q.CONSTRUCTOR_1, q.SUPERVISING_ENGINEER, q.STRUCTURAL_ENGINEER,
                      q.GEOTECHNICAL_ENGINEER, q.ARCHITECT):
            issuer = MOHURD
        template = CERT_NUMBERS.get(kind, "31{y}{seq:08d}")
        while True:
            seq = self.cert_seq.get(kind, rng.randint(1_000, 9_000)) + rng.randint(1, 9)
            self.cert_seq[kind] = seq
            number = template.format(y=issued.year, seq=seq, p=prefix[0], c=prefix[1])
            if (kind, number) not in self.cert_numbers:
                break
        self.cert_numbers.add((kind, number))
        return Qualification(person=person, kind=kind, number=number, issuer=issuer,
                             issued_on=issued, expires_on=expires)

    # -- posts ---------------------------------------------------------------------------

    def _openings(self, plan) -> list[str]:
        project = plan.project
        value = float(project.contract_value)
        if project.kind == ProjectKind.BUILDING:
            safety = 1 if plan.floor_area < 10_000 else 2 if plan.floor_area < 50_000 else 3
        else:
            safety = 1 if value < 5_000 else 2 if value < 10_000 else 3
        big = float(project.site_area_m2) >= 40_000 or value >= 20_000
        posts = ["owner_lead", "survey_lead", "design_lead", "project_manager", "technical_lead",
                 *["safety_officer"] * safety, "construction_worker_lead", "quality_inspector",
                 "chief_supervising_engineer", *["supervising_engineer"] * (2 if big else 1)]
        if project.has_pit:
            posts.append("monitoring_lead")
        return posts

    def _fill(self, plan, post: str, start: date) -> int:
        rng = self.rng
        employer = plan.parties[self.posts[post].party_role]
        key = (employer.pk, post)
        if post in POOLED:
            pool = self.pool[key]
            if pool and rng.random() > 0.3:
                return rng.choice(pool)
            pool.append(self._person(post, employer))
            return pool[-1]
        if post in BENCHED:
            free = [i for i, (since, _) in enumerate(self.bench[key]) if since <= start]
            if free and rng.random() < 0.7:
                return self.bench[key].pop(rng.choice(free))[1]
        return self._person(post, employer)

    def staff_all(self) -> None:
        """Fill every opening of every project, earliest start first (so people come free
        for later projects)."""
        rng = self.rng
        for plan in sorted(self.plans, key=lambda p: (p.project.start_date, p.project.permit_no)):
            project = plan.project
            done = project.status == ProjectStatus.COMPLETED
            end = project.finish_date if done else None
            for post in self._openings(plan):
                person = self._fill(plan, post, project.start_date)
                first_end = end
                elapsed = (self.today - project.start_date).days
                if (post in ("project_manager", "chief_supervising_engineer") and not done
                        and elapsed > 180 and rng.random() < 0.05):
                    # Replaced during the works: the first holder's term ends.
                    first_end = project.start_date + timedelta(days=rng.randint(60, elapsed - 60))
                    self.changed.add(project.permit_no)
                self.slots.append(Slot(plan, post, person, project.start_date, first_end))
                if first_end is not end:
                    successor = self._fill(plan, post, first_end + timedelta(days=1))
                    self.slots.append(Slot(plan, post, successor,
                                           first_end + timedelta(days=1), None))
                if first_end is not None and post in BENCHED:
                    employer = plan.parties[self.posts[post].party_role]
                    self.bench[(employer.pk, post)].append(
                        (first_end + timedelta(days=1), person))
        self._renew_live_managers()

    def _current(self, plan, post: str) -> list[Slot]:
        """The open assignments of `post` on `plan` (indexed on first use)."""
        if self._open is None:
            self._open = defaultdict(list)
            for slot in self.slots:
                if slot.end is None:
                    self._open[(id(slot.plan), slot.post)].append(slot)
        return self._open[(id(plan), post)]

    def _renew_live_managers(self) -> None:
        """A 项目经理 of a live project has a valid 建造师 registration (anomalies aside)."""
        for slot in self.slots:
            if (slot.post == "project_manager" and slot.end is None
                    and slot.plan.project.status != ProjectStatus.COMPLETED):
                for qual in self.quals[slot.person]:
                    if qual.kind in CONSTRUCTOR and qual.expires_on < self.today:
                        qual.expires_on = self.today + timedelta(days=self.rng.randint(31, 1000))
                        qual.issued_on = _years_before(qual.expires_on, 3) + timedelta(days=1)

    # -- anomalies -----------------------------------------------------------------------

    def plant_anomalies(self, rng: random.Random, n: int) -> dict[str, list[dict]]:
        """Plant `n` cases of each of `ANOMALY_KINDS` on distinct active projects; return them
        by natural keys."""
        candidates = sorted((p for p in self.plans
                             if p.project.status == ProjectStatus.ACTIVE
                             and p.project.permit_no not in self.changed),
                            key=lambda p: p.project.permit_no)
        used: set[str] = set()
        found: dict[str, list[dict]] = {kind: [] for kind in ANOMALY_KINDS}

        # 身兼多岗: a contractor registers the 项目经理 of project A on its project B too.
        by_contractor = defaultdict(list)
        for plan in candidates:
            by_contractor[plan.parties[PartyRole.CONTRACTOR].pk].append(plan)
        firms = sorted(k for k, v in by_contractor.items() if len(v) >= 2)
        for firm in rng.sample(firms, min(n, len(firms))):
            a, b = rng.sample(by_contractor[firm], 2)
            [pm_a], [pm_b] = self._current(a, "project_manager"), self._current(b, "project_manager")
            pm_b.person = pm_a.person
            used |= {a.project.permit_no, b.project.permit_no}
            person = self.people[pm_a.person]
            found["身兼多岗"].append({
                "resident_id": person.resident_id, "name": person.name, "post": "项目经理",
                "projects": [a.project.permit_no, b.project.permit_no]})

        # 建造师证书过期: the 项目经理's registration lapsed while the works go on.
        pool = [p for p in candidates if p.project.permit_no not in used]
        for plan in rng.sample(pool, min(n, len(pool))):
            [slot] = self._current(plan, "project_manager")
            qual = next(q for q in self.quals[slot.person] if q.kind in CONSTRUCTOR)
            qual.expires_on = self.today - timedelta(days=rng.randint(5, 180))
            qual.issued_on = _years_before(qual.expires_on, 3) + timedelta(days=1)
            used.add(plan.project.permit_no)
            person = self.people[slot.person]
            found["建造师证书过期"].append({
                "resident_id": person.resident_id, "name": person.name, "post": "项目经理",
                "project": plan.project.permit_no, "qualification": qual.number,
                "expires_on": qual.expires_on.isoformat()})

        # 配备不足: no 专职安全生产管理人员 registered at all.
        gone: set[int] = set()
        pool = [p for p in candidates if p.project.permit_no not in used]
        for plan in rng.sample(pool, min(n, len(pool))):
            gone.update(id(s) for s in self._current(plan, "safety_officer"))
            used.add(plan.project.permit_no)
            found["配备不足"].append({"project": plan.project.permit_no,
                                   "post": "专职安全生产管理人员", "registered": 0})
        self.slots = [s for s in self.slots if id(s) not in gone]
        self._open = None
        return found

    # -- writing -------------------------------------------------------------------------

    def save(self) -> dict[str, int]:
        """Write the people who hold at least one post, their certificates and posts."""
        from smartsite.simulator.city import BATCH, _audit_import

        kept = sorted({s.person for s in self.slots})
        people = [self.people[i] for i in kept]
        Person.objects.bulk_create(people, batch_size=BATCH)
        quals = [q for i in kept for q in self.quals[i]]
        Qualification.objects.bulk_create(quals, batch_size=BATCH)
        assignments = [
            PostAssignment(project_id=s.plan.project.pk, person_id=self.people[s.person].pk,
                           post_id=self.posts[s.post].pk, start_date=s.start, end_date=s.end)
            for s in sorted(self.slots, key=lambda s: (s.plan.project.permit_no, s.post,
                                                       s.start, s.person))]
        PostAssignment.objects.bulk_create(assignments, batch_size=BATCH)
        for rows in (people, quals, assignments):
            _audit_import(rows)
        soon = self.today + timedelta(days=30)
        return {
            "people": len(people), "qualifications": len(quals),
            "assignments": len(assignments),
            "qualifications_expired": sum(q.expires_on < self.today for q in quals),
            "qualifications_expiring": sum(self.today <= q.expires_on <= soon for q in quals),
        }
