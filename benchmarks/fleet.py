"""A realistic benchmark fleet: every agent's values distinct, a few shared schemas, some variants.

Used by ``plan_bench.py``. Deterministic (seeded by the agent index), so two
runs measure the same repository. The fleet:

- shares four base schemas (call transfer, restaurant bookings, customer
  support with a sensitive token, multi-site opening hours); one agent in
  ``VARIANT_EVERY`` runs its own variant (an extra property, a narrower enum);
- gives every agent distinct values in every environment: names, phone
  numbers, sites (1–4 each, with their own names, addresses and numbers);
- is written as block-style YAML, the way people write it (phone numbers
  quoted, as a YAML 1.1 or 1.2 reader needs).
"""

from __future__ import annotations

import copy
import random
from pathlib import Path

import yaml

ENVS = ("sandbox", "pre-release", "live")
PHONE = "^\\+[1-9][0-9]{7,14}$"
POSTCODE = "^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$"
HOURS = "^([0-2][0-9]:[0-5][0-9]-[0-2][0-9]:[0-5][0-9]|closed)$"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: One agent in VARIANT_EVERY has its own schema variant.
VARIANT_EVERY = 12

_FIRST = ("Acme", "Bella", "Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Proseware",
          "Adatum", "Lucerne", "Margie", "Woodgrove", "Alpine", "Coho", "Fourth", "Humongous", "Trey")
_SECOND = ("Pizza", "Travel", "Dental", "Motors", "Insurance", "Bank", "Clinic", "Hotel", "Energy", "Telecom",
           "Logistics", "Vets", "Books", "Gym", "Bakery", "Cinema", "Garage", "Florist")
_STREETS = ("High Street", "Station Road", "Church Lane", "Mill Road", "Park Avenue", "Victoria Road",
            "Green Lane", "Manor Road", "Kings Road", "Queens Road")
_CITIES = ("London", "Leeds", "Bristol", "Glasgow", "Cardiff", "Belfast", "York", "Bath", "Oxford", "Derby")


def _prop(kind, title: str, **extra) -> dict:
    return {"type": kind, "title": title, "description": f"{title} shown to the agent's editors", **extra}


def _common() -> dict:
    return {"greeting": _prop("string", "Greeting", minLength=1, maxLength=400),
            "fallback_number": _prop("string", "Fallback number", pattern=PHONE)}


def _site() -> dict:
    return _prop("object", "Site", additionalProperties=False, required=["name", "phone", "hours"], properties={
        "name": _prop("string", "Site name", minLength=1),
        "phone": _prop("string", "Site phone", pattern=PHONE),
        "address": _prop("object", "Address", required=["street", "city"], properties={
            "street": _prop("string", "Street"), "city": _prop("string", "City"),
            "postcode": _prop("string", "Postcode", pattern=POSTCODE)}),
        "hours": _prop("object", "Opening hours", properties={d: _prop("string", d.title(), pattern=HOURS)
                                                               for d in DAYS}),
    })


def _base(required: list[str], properties: dict) -> dict:
    return {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "additionalProperties": False,
            "required": ["greeting", "fallback_number", *required], "properties": {**_common(), **properties}}


def base_schemas() -> dict[str, dict]:
    """The four schemas most of the fleet shares."""
    transfer = _base(["transfer"], {
        "after_hours_enabled": _prop("boolean", "After-hours service"),
        "max_hold_seconds": _prop("integer", "Max hold", minimum=0, maximum=600, default=120),
        "transfer": _prop("object", "Call transfer", additionalProperties=False,
                          required=["transfer_target", "transfer_type"], properties={
                              "transfer_target": _prop("string", "Transfer target", pattern=PHONE),
                              "transfer_type": _prop("string", "Transfer type", enum=["blind", "warm"]),
                              "transfer_reason": _prop(["string", "null"], "Transfer reason")}),
    })
    bookings = _base(["sites", "max_party_size"], {
        "booking_enabled": _prop("boolean", "Bookings"),
        "max_party_size": _prop("integer", "Largest party", minimum=1, maximum=40),
        "deposit": _prop("object", "Deposit", properties={
            "amount": _prop("number", "Amount", minimum=0), "currency": _prop("string", "Currency",
                                                                              enum=["GBP", "EUR", "USD"])}),
        "sites": _prop("array", "Sites", items=_site(), minItems=1, maxItems=20),
    })
    support = _base(["languages", "escalation"], {
        "languages": _prop("array", "Languages", items={"type": "string", "enum": ["en", "fr", "de", "es", "it"]},
                           uniqueItems=True, minItems=1),
        "escalation": _prop("object", "Escalation", required=["email"], properties={
            "email": _prop("string", "Escalation e-mail", format="email"),
            "phone": _prop("string", "Escalation phone", pattern=PHONE)}),
        "crm_token": _prop("string", "CRM token", minLength=16, **{"x-sensitive": True}),
        "faq": _prop("array", "FAQ", items=_prop("object", "Entry", required=["q", "a"], properties={
            "q": _prop("string", "Question"), "a": _prop("string", "Answer")})),
        "sla_minutes": _prop("integer", "SLA", minimum=1),
    })
    sites = _base(["sites"], {
        "sentiment": _prop("string", "Sentiment", enum=["positive", "neutral", "negative"]),
        "sites": _prop("array", "Sites", items=_site(), minItems=1),
        "holiday_message": _prop(["string", "null"], "Holiday message"),
    })
    return {"transfer": transfer, "bookings": bookings, "support": support, "sites": sites}


_BASES = base_schemas()
KINDS = tuple(_BASES)


def kind_of(index: int) -> str:
    return KINDS[index % len(KINDS)]


def schema_for(index: int) -> dict:
    """The agent's schema: its kind's, or (one in VARIANT_EVERY) its own variant of it."""
    schema = _BASES[kind_of(index)]
    if index % VARIANT_EVERY != VARIANT_EVERY - 1:
        return schema
    variant = copy.deepcopy(schema)
    variant["properties"][f"custom_note_{index}"] = _prop("string", f"Note for agent {index}", maxLength=200)
    variant["properties"]["greeting"]["maxLength"] = 200 + index % 100
    return variant


def _phone(index: int, env: int, slot: int) -> str:
    return f"+44{20 + (index * 7 + slot) % 60}{(index * 3 + env) % 10}{(index * 1009 + slot * 31 + env) % 10**7:07d}"


def values(index: int, env: str, revision: int = 0) -> dict:
    """Distinct values for agent ``index`` in ``env`` (names, numbers, sites all differ)."""
    rng = random.Random(index * 10 + ENVS.index(env))
    e = ENVS.index(env)
    name = f"{_FIRST[index % len(_FIRST)]} {_SECOND[(index // len(_FIRST)) % len(_SECOND)]} {index}"
    out: dict = {"greeting": f"Thank you for calling {name}{' (test)' if env != 'live' else ''}. "
                             f"How can I help? [rev {revision}]",
                 "fallback_number": _phone(index, e, 0)}
    kind = kind_of(index)
    if kind == "transfer":
        out |= {"after_hours_enabled": rng.random() < 0.5, "max_hold_seconds": rng.randrange(30, 600),
                "transfer": {"transfer_target": _phone(index, e, 1), "transfer_type": rng.choice(["blind", "warm"]),
                             "transfer_reason": rng.choice([None, f"Escalation for {name}"])}}
    elif kind == "support":
        out |= {"languages": rng.sample(["en", "fr", "de", "es", "it"], rng.randrange(1, 4)),
                "escalation": {"email": f"support+{index}.{env}@example.com", "phone": _phone(index, e, 2)},
                "crm_token": f"tok_{rng.getrandbits(96):024x}",
                "faq": [{"q": f"Question {q} for {name}?", "a": f"Answer {q}: see {name} online."}
                        for q in range(rng.randrange(1, 5))],
                "sla_minutes": rng.randrange(5, 240)}
    else:
        sites = [_site_values(index, e, s, rng) for s in range(rng.randrange(1, 5))]
        if kind == "bookings":
            out |= {"booking_enabled": True, "max_party_size": rng.randrange(2, 40), "sites": sites,
                    "deposit": {"amount": round(rng.uniform(0, 50), 2), "currency": "GBP"}}
        else:
            out |= {"sentiment": rng.choice(["positive", "neutral", "negative"]), "sites": sites,
                    "holiday_message": rng.choice([None, f"{name} is closed on bank holidays."])}
    if index % VARIANT_EVERY == VARIANT_EVERY - 1:
        out[f"custom_note_{index}"] = f"Own variant of agent {index}"
    return out


def _site_values(index: int, env: int, slot: int, rng: random.Random) -> dict:
    open_, close = rng.choice(["08:00", "09:00", "10:00"]), rng.choice(["17:00", "18:30", "22:00"])
    hours = {d: f"{open_}-{close}" for d in DAYS[:5]} | {"sat": rng.choice(["closed", "10:00-16:00"]),
                                                         "sun": "closed"}
    return {"name": f"{_CITIES[(index + slot) % len(_CITIES)]} {slot + 1} ({index})",
            "phone": _phone(index, env, 10 + slot),
            "address": {"street": f"{rng.randrange(1, 300)} {rng.choice(_STREETS)}",
                        "city": _CITIES[(index + slot) % len(_CITIES)],
                        "postcode": f"{rng.choice('ABCLMNS')}{rng.randrange(1, 20)} {rng.randrange(1, 9)}"
                                    f"{rng.choice('ABDEFG')}{rng.choice('HJLNPQ')}"},
            "hours": hours}


def agent_id(index: int) -> str:
    return f"bench-{index:05d}"


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def dump(document: dict) -> str:
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def write_repo(root: Path, n: int, url: str, concurrency: int) -> int:
    """Write the fleet; returns the number of YAML files written."""
    (root / "reconciler.yaml").write_text(f"api:\n  url: {url}\nconcurrency: {concurrency}\n", encoding="utf-8")
    texts: dict[int, str] = {}
    for i in range(n):
        schema = schema_for(i)
        text = texts.setdefault(id(schema), dump(schema)) if i % VARIANT_EVERY != VARIANT_EVERY - 1 \
            else dump(schema)
        for env in ENVS:
            d = root / "configs" / agent_id(i) / env
            d.mkdir(parents=True)
            (d / "schema.yaml").write_text(text, encoding="utf-8")
            (d / "values.yaml").write_text(dump(values(i, env)), encoding="utf-8")
    return n * len(ENVS) * 2


def bump_one_variable(root: Path, n: int) -> None:
    """One changed top-level variable (``greeting``) in one page (sandbox) of every agent."""
    for i in range(n):
        path = root / "configs" / agent_id(i) / "sandbox" / "values.yaml"
        path.write_text(dump(values(i, "sandbox", revision=1)), encoding="utf-8")
