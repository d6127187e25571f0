"""The checks of a spec, one module per `checks:` key (and `against`).

Each check module exposes `run(context) -> CheckResult`; `registry.CHECKS`
maps each name to it. A check never raises for a numeric fault: NaN, overflow
and divergence are failed results naming the step and the point.
"""
