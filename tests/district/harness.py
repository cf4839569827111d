"""A real district server in a subprocess, and a counter that talks to it over loopback.

The counter side does what desktop/sync will do: register, log in, pull the changes, build a
calc case from what it pulled, compute it with the engine and push the application.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from desktop import wire
from desktop.domain import signing
from desktop.policy.contract import SCHEMA, calculate_text
from district.values import SHANGHAI

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "counter-test-密码-1"
CHANGNING_STREET = "310105001"  # 华阳路街道
MINHANG_STREET = "310112001"  # 江川路街道


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_district(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "district", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


def seed(database_url: str, persons: int, streets: list[str], codes: int = 80,
         seed_value: int = 11) -> dict[str, Any]:
    done = run_district("seed", "--persons", str(persons), "--database-url", database_url,
                        "--seed", str(seed_value), "--streets", ",".join(streets),
                        "--devices-per-street", str(codes), "--password", PASSWORD, "--json")
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, Any] = json.loads(done.stdout)
    return report


class ServerProcess:
    """`python -m district serve` on a free loopback port, its log in a file."""

    def __init__(self, database_url: str, log_path: Path, port: int | None = None) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{wire.API_PREFIX}"

    def start(self, timeout: float = 40) -> None:
        log = self.log_path.open("ab")
        env = dict(os.environ, DISTRICT_LOG_LEVEL="INFO")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "district", "serve", "--port", str(self.port),
             "--database-url", self.database_url],
            cwd=ROOT, stdout=log, stderr=log, env=env)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited ({self.process.returncode}):\n"
                                   f"{self.log()[-5000:]}")
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not answer /health in {timeout} s:\n"
                           f"{self.log()[-5000:]}")

    def kill(self) -> None:
        """kill -9: no shutdown, no flushing, nothing graceful."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class Snapshot:
    """What a counter has after pulling: entities by key, in their latest state."""

    persons: dict[str, dict[str, Any]] = field(default_factory=dict)
    spans: dict[str, dict[str, Any]] = field(default_factory=dict)
    institutions: dict[str, dict[str, Any]] = field(default_factory=dict)
    fee_rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    claims: dict[str, dict[str, Any]] = field(default_factory=dict)
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    applications: dict[str, dict[str, Any]] = field(default_factory=dict)
    commitments: dict[str, dict[str, Any]] = field(default_factory=dict)

    def apply(self, changes: list[wire.Change]) -> None:
        tables = {"person": self.persons, "category_span": self.spans,
                  "institution": self.institutions, "fee_row": self.fee_rows,
                  "claim": self.claims, "parameter_version": self.parameters,
                  "application": self.applications, "commitment": self.commitments}
        for change in changes:
            table = tables[change.entity]
            if change.op == "delete":
                table.pop(change.key, None)
            else:
                assert change.data is not None
                table[change.key] = change.data

    def spans_of(self, person_id: str) -> list[dict[str, Any]]:
        return [s for s in self.spans.values() if s["person_id"] == person_id]

    def rows_of(self, person_id: str) -> list[dict[str, Any]]:
        return sorted((r for r in self.fee_rows.values() if r["person_id"] == person_id),
                      key=lambda r: (r["date"], r["receipt_no"], r["id"]))


class Counter:
    """One registered counter PC."""

    def __init__(self, base_url: str, registered: wire.DeviceRegistered) -> None:
        self.base_url = base_url
        self.registered = registered
        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.session_token: str | None = None
        self.user: wire.LoggedIn | None = None
        self.snapshot = Snapshot()
        self.cursor = 0
        # each user's signing key at this PC, made and registered at their login here, as the
        # counter's desktop.services.signing does
        self.keys: dict[str, tuple[Ed25519PrivateKey, str]] = {}
        # what this counter's applications were saved with: the signed acts are over it
        self.saved: dict[str, tuple[dict[str, Any], str, str | None, datetime]] = {}
        # the wire protocol this counter speaks (desktop.wire.PROTOCOL_VERSION); None: it
        # sends no version, as counters before the header did
        self.protocol: int | None = wire.PROTOCOL_VERSION

    @classmethod
    def register(cls, base_url: str, code: str, name: str = "柜台1") -> Counter:
        r = httpx.post(f"{base_url}/devices/register",
                       json={"enrolment_code": code, "device_name": name},
                       headers={wire.PROTOCOL_HEADER: str(wire.PROTOCOL_VERSION)}, timeout=30)
        assert r.status_code == 201, r.text
        return cls(base_url, wire.DeviceRegistered.model_validate_json(r.content))

    @property
    def street_code(self) -> str:
        return self.registered.street_code

    @property
    def device_id(self) -> str:
        return self.registered.device_id

    def headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.registered.token}"}
        if self.protocol is not None:
            headers[wire.PROTOCOL_HEADER] = str(self.protocol)
        if self.session_token:
            headers["X-Session-Token"] = self.session_token
        return headers

    def login(self, username: str, password: str = PASSWORD) -> wire.LoggedIn:
        r = self.http.post("/login", json={"username": username, "password": password},
                           headers=self.headers())
        assert r.status_code == 200, r.text
        self.user = wire.LoggedIn.model_validate_json(r.content)
        self.session_token = self.user.session_token
        if username not in self.keys:
            private = signing.new_private_key()
            r = self.http.post("/signing-keys",
                               json={"public_key": signing.public_key_b64(private)},
                               headers=self.headers())
            assert r.status_code == 200, r.text
            self.keys[username] = (private, wire.SigningKeyRegistered.model_validate_json(
                r.content).key_id)
        return self.user

    def ensure_key(self, username: str) -> None:
        """`username` signs in here once (registering their key), then the session returns."""
        if username in self.keys:
            return
        previous = self.user.username if self.user else None
        self.login(username)
        if previous:
            self.login(previous)

    def prove(self, act: signing.SignedAct) -> wire.Proof:
        self.ensure_key(act.username)
        private, key_id = self.keys[act.username]
        bound = signing.SignedAct(**{**act.__dict__, "device_id": self.device_id})
        return wire.Proof(key_id=key_id, signature=signing.sign(private, bound))

    def act(self, act: signing.ActKind, application_id: str, role: str, username: str,
            at: datetime | None = None, *, card_confirmed: bool = False,
            extra: str = "") -> signing.SignedAct:
        case, payable, card, _ = self.saved[application_id]
        return signing.SignedAct(
            act=act, application_id=application_id, role=role, username=username,
            device_id=self.device_id, case_sha256=signing.case_digest(case), payable=payable,
            card_sha256=signing.card_digest(card), card_confirmed=card_confirmed,
            signed_at=at or datetime.now(UTC), extra=extra)

    def signature(self, application_id: str, role: str, username: str,
                  at: datetime | None = None, *, card_confirmed: bool = False
                  ) -> wire.OutboxItem:
        """A signature as the counter makes it: signed by `username`'s key at this PC."""
        self.ensure_key(username)
        at = at or datetime.now(UTC)
        proof = self.prove(self.act("sign", application_id, role, username, at,
                                    card_confirmed=card_confirmed))
        return outbox("signature", wire.SignaturePayload(
            application_id=uuid.UUID(application_id), role=role,  # type: ignore[arg-type]
            username=username, signed_at=at, card_confirmed=card_confirmed, proof=proof))

    def withdrawal(self, application_id: str, username: str, reason: str = "重新申请",
                   at: datetime | None = None) -> wire.OutboxItem:
        self.ensure_key(username)
        at = at or datetime.now(UTC)
        proof = self.prove(self.act("withdraw", application_id, "", username, at,
                                    extra=reason))
        return outbox("withdrawal", wire.WithdrawalPayload(
            application_id=uuid.UUID(application_id), username=username, reason=reason, at=at,
            proof=proof))

    def send_back(self, application_id: str, username: str, reason: str = "材料不全",
                  at: datetime | None = None) -> wire.OutboxItem:
        self.ensure_key(username)
        at = at or datetime.now(UTC)
        proof = self.prove(self.act("return", application_id, "", username, at, extra=reason))
        return outbox("return", wire.ReturnPayload(
            application_id=uuid.UUID(application_id), username=username, reason=reason, at=at,
            proof=proof))

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.headers())

    def page(self, cursor: int, limit: int, *, count: bool = False) -> wire.ChangesPage:
        r = self.get("/changes", cursor=cursor, limit=limit, **({"count": "true"} if count else {}))
        assert r.status_code == 200, r.text
        return wire.ChangesPage.model_validate_json(r.content)

    def pull(self, limit: int = 2000) -> list[wire.Change]:
        pulled: list[wire.Change] = []
        while True:
            page = self.page(self.cursor, limit)
            pulled += page.items
            self.snapshot.apply(page.items)
            self.cursor = page.next_cursor
            if not page.more:
                return pulled

    def push(self, items: list[wire.OutboxItem]) -> list[wire.ItemResult]:
        r = self.http.post("/push", content=wire.Push(items=items).model_dump_json(),
                           headers={**self.headers(), "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        return wire.PushResult.model_validate_json(r.content).results

    def push_one(self, item: wire.OutboxItem) -> wire.ItemResult:
        (result,) = self.push([item])
        return result

    # -- building what a counter saves ----------------------------------------------------

    def application(self, person_id: str, row_ids: list[str], *, program: str = "assistance",
                    handler: str | None = None, district: str | None = None,
                    today: date | None = None, created_at: datetime | None = None,
                    bank_account: str | None = None, signed: bool = True,
                    number: str | None = None, auto_enrolled: bool = False
                    ) -> wire.OutboxItem:
        """An application as the counter's services would save it: the case built from the
        pulled data, computed by the engine, signed by its 经办人, the outbox item ready to
        push."""
        case = self.case(person_id, row_ids, program=program, district=district, today=today)
        result = calculate_text(json.dumps(case))
        application_id = uuid.uuid4()
        handler = handler or (self.user.username if self.user else "")
        if signed:
            self.ensure_key(handler)
        created_at = created_at or datetime.now(UTC)
        self.saved[str(application_id)] = (case, result["payable"], bank_account, created_at)
        proof = self.prove(self.act("sign", str(application_id), "handler", handler,
                                    created_at)) if signed else None
        payload = wire.ApplicationPayload(
            application_id=application_id, program=program,  # type: ignore[arg-type]
            district=case["district"], person_id=person_id, fee_row_ids=row_ids, case=case,
            payable=result["payable"], buckets=result["buckets"],
            parameter_versions=[f"{p['key']}@{p['effective_from']}"
                                for p in result["parameters"]],
            handler=handler, created_at=created_at, bank_account=bank_account,
            handler_proof=proof, number=number, auto_enrolled=auto_enrolled)
        return outbox("application", payload)

    def commitment(self, person_id: str, application_id: str, *, handler: str | None = None,
                   program: str = "assistance", given_on: date | None = None,
                   at: datetime | None = None, commitment_id: uuid.UUID | None = None
                   ) -> wire.OutboxItem:
        """A 免申即享 commitment given with `application_id`, signed by its 经办人 here (as
        desktop.services.commitments.give_commitment makes it)."""
        handler = handler or (self.user.username if self.user else "")
        at = at or datetime.now(UTC)
        given_on = given_on or shanghai_today()
        commitment_id = commitment_id or uuid.uuid4()
        proof = self.prove(signing.commitment_act(
            "commit", commitment_id=str(commitment_id), person_id=person_id, program=program,
            application_id=application_id, given_on=given_on.isoformat(), username=handler,
            at=at))
        return outbox("commitment", wire.CommitmentPayload(
            commitment_id=commitment_id, person_id=person_id,
            program=program,  # type: ignore[arg-type]
            application_id=uuid.UUID(application_id), given_on=given_on, handler=handler,
            at=at, proof=proof))

    def revocation(self, commitment: dict[str, Any], username: str, reason: str = "本人撤销",
                   at: datetime | None = None) -> wire.OutboxItem:
        """A revocation of `commitment` (its CommitmentData, or its payload's fields as
        given), signed by `username` here."""
        at = at or datetime.now(UTC)
        day = shanghai_today()
        commitment_id = str(commitment.get("id") or commitment["commitment_id"])
        proof = self.prove(signing.commitment_act(
            "revoke", commitment_id=commitment_id, person_id=commitment["person_id"],
            program=commitment["program"], application_id=str(commitment["application_id"]),
            given_on=str(commitment["given_on"]), username=username, at=at,
            revoked_on=day.isoformat(), reason=reason))
        return outbox("revocation", wire.RevocationPayload(
            commitment_id=uuid.UUID(commitment_id), username=username, revoked_on=day,
            reason=reason, at=at, proof=proof))

    def case(self, person_id: str, row_ids: list[str], *, program: str = "assistance",
             district: str | None = None, today: date | None = None) -> dict[str, Any]:
        snap = self.snapshot
        person = snap.persons[person_id]
        years = {snap.fee_rows[i]["date"][:4] for i in row_ids}
        history = [r for r in snap.rows_of(person_id)
                   if r["id"] in snap.claims and r["id"] not in row_ids
                   and r["date"][:4] in years]
        data: dict[str, Any] = {
            "categories": [{"code": s["code"], "from": s["start"], "to": s["end"]}
                           for s in snap.spans_of(person_id)],
            "resident_insurance": person["resident_insurance"],
        }
        if person["mutual_aid_years"]:
            data["mutual_aid"] = {
                "member_years": person["mutual_aid_years"],
                "benefits_from": person["mutual_aid_benefits_from"],
                "external_inpatient_insurance": person["external_inpatient_insurance"],
                "allowance_balance": person["allowance_balance"],
            }
        fees = [case_fee(r, settled=True) for r in history]
        fees += [case_fee(snap.fee_rows[i]) for i in row_ids]
        return {"schema": SCHEMA, "program": program,
                "district": district or street_district(self.street_code),
                "application_date": (today or shanghai_today()).isoformat(),
                "person": data, "fees": fees}

    def close(self) -> None:
        self.http.close()


def outbox(kind: str, payload: wire.Strict) -> wire.OutboxItem:
    return wire.OutboxItem(idempotency_key=uuid.uuid4(), kind=kind,  # type: ignore[arg-type]
                           payload=payload.model_dump(mode="json"), created_at=datetime.now(UTC))


def signature(application_id: str, role: str, username: str) -> wire.OutboxItem:
    """An unsigned signature: only the checks before the proof can accept it (use
    Counter.signature for one the district accepts)."""
    return outbox("signature", wire.SignaturePayload(
        application_id=uuid.UUID(application_id), role=role,  # type: ignore[arg-type]
        username=username, signed_at=datetime.now(UTC)))


def audit_event(actor: str, n: int) -> wire.OutboxItem:
    return outbox("audit_event", wire.AuditEventPayload(
        event_id=uuid.uuid4(), at=datetime.now(UTC), actor=actor, action="tick_row",
        subject=f"fee_row:{n}", detail={"n": n}))


def case_fee(row: dict[str, Any], settled: bool = False) -> dict[str, Any]:
    keys = ("id", "receipt_no", "date", "kind", "hospital_level", "in_shanghai",
            "out_of_province_filed", "total", "out_of_scope", "self_pay", "deductible_part",
            "external_deductible", "external_reimbursed", "one_stop_settled", "already_claimed",
            "clearing_pending", "major_illness", "major_illness_doc", "means_test_included")
    fee = {k: row[k] for k in keys}
    if settled:
        fee["settled"] = True
    return fee


def street_district(street_code: str) -> str:
    return "changning" if street_code.startswith("310105") else "minhang"


def shanghai_today() -> date:
    return datetime.now(SHANGHAI).date()


def claimable_rows(counter: Counter, person_id: str, *, program: str = "assistance",
                   within_days: int = 150) -> list[str]:
    """The person's unclaimed rows of the last months that the engine pays something for."""
    snap = counter.snapshot
    since = (shanghai_today() - timedelta(days=within_days)).isoformat()
    rows = [r["id"] for r in snap.rows_of(person_id)
            if r["id"] not in snap.claims and r["date"] >= since]
    if not rows:
        return []
    result = calculate_text(json.dumps(counter.case(person_id, rows, program=program)))
    return [r["id"] for r in result["rows"] if r["counts"] and not r.get("settled")]


def fresh_recipients(counter: Counter) -> list[str]:
    """Persons of the counter's street with a category, no mutual aid and no claim yet, who
    have rows the engine pays for: an application for them needs no history."""
    snap = counter.snapshot
    claimed_persons = {snap.fee_rows[k]["person_id"] for k in snap.claims}
    found = []
    for pid, person in sorted(snap.persons.items()):
        if person["mutual_aid_years"] or pid in claimed_persons or not snap.spans_of(pid):
            continue
        if claimable_rows(counter, pid):
            found.append(pid)
    return found


def by_street(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    streets = {s["code"]: {**s, "enrolment_codes": list(s["enrolment_codes"])}
               for s in report["streets"]}
    users: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for user in report["users"]:
        users[user["street_code"]].append(user)
    for code, street in streets.items():
        street["users"] = {u["username"].split(".")[1]: u["username"] for u in users[code]}
    return streets
