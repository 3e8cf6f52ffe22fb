"""The pit scenario's reference data (fixtures/*.json, each row with its citation and a
confidence mark): GB 50497-2019 预警值, survey frequencies, the assessment's parameters, the
loop policy and the legal basis. An administrator's edit survives reloading (keep_edits)."""

from __future__ import annotations

from smartsite.core.reference import load_by_code
from smartsite.pits.models import AlarmValue, Parameter, SurveyFrequency
from smartsite.workorders import reference as loops

PACKAGE = "smartsite.pits"


def load_alarm_values() -> int:
    return load_by_code(AlarmValue, PACKAGE, "alarm_values.json", keep_edits=True)


def load_frequencies() -> int:
    return load_by_code(SurveyFrequency, PACKAGE, "survey_frequency.json", keep_edits=True)


def load_parameters() -> int:
    return load_by_code(Parameter, PACKAGE, "parameters.json", keep_edits=True)


def load_policies() -> int:
    return loops.load_policies(PACKAGE)


def load_legal_bases() -> int:
    return loops.load_legal_bases(PACKAGE)
