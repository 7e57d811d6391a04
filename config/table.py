"""The README's environment table, generated from the settings so the two cannot drift
(tests/test_settings.py checks that README.md holds exactly this output)."""

from __future__ import annotations

import dataclasses

from config.settings import EnvironmentSettings, load_environments

ADHOC_EXAMPLE = "pr123"


def _leaves(settings: EnvironmentSettings) -> dict[str, object]:
    values: dict[str, object] = {}
    for field in dataclasses.fields(settings):
        if not field.init or field.name in EnvironmentSettings.DERIVED:
            continue
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            values.update({f"{field.name}.{k}": v for k, v in dataclasses.asdict(value).items()})
        else:
            values[field.name] = value
    return values


def _cell(value: object) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(item) for item in value) or "none"
    if isinstance(value, str) and "\n" in value:  # a script: too long for a cell
        return f"a {value.count(chr(10)) + 1}-line script (config/environments.toml)"
    return f"`{value}`" if isinstance(value, str) else str(value)


def environment_table() -> str:
    envs = load_environments(adhoc_suffix=ADHOC_EXAMPLE, environ={})
    columns = [e.suffix if e.suffix == e.name else f"{e.suffix} (ad-hoc, {e.name} profile)" for e in envs]
    leaves = [_leaves(e) for e in envs]
    differing = [k for k in leaves[0] if len({repr(leaf[k]) for leaf in leaves}) > 1]
    same = [k for k in leaves[0] if k not in differing]
    lines = ["| setting | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    lines += [f"| `{k}` | " + " | ".join(_cell(leaf[k]) for leaf in leaves) + " |" for k in differing]
    lines += ["", "Same in every environment: " + "; ".join(f"`{k}` = {_cell(leaves[0][k])}" for k in same) + "."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(environment_table())
