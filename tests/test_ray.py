"""Ray on a local two-CPU cluster: Ray Data prediction gives what `kanjo predict` gives on the
same rows, through the API and `kanjo predict --engine ray`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.test_streaming_predict import texts

ray = pytest.importorskip("ray")
# the same model on the same rows: only the batches differ (Ray's blocks against kanjo's
# chunks), and with them the padding of a few rows, which moves a probability by float noise
TOLERANCE = 1e-5


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             object_store_memory=150 * 2**20, configure_logging=False)
    yield
    ray.shutdown()


def _local(model: Path, source: Path, tmp_path: Path, capsys) -> list[dict]:
    out = tmp_path / f"local-{source.stem}.jsonl"
    code, _, err = run_cli(["predict", str(model), "--input", str(source), "--output",
                            str(out)], capsys)
    assert code == 0, err
    return [json.loads(line) for line in out.read_text("utf-8").splitlines()]


def _same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key, value in want.items():
        if key in ("probabilities", "score"):
            assert got[key] == pytest.approx(value, abs=TOLERANCE)
        else:
            assert got[key] == value, key


def test_ray_data_predict_matches_kanjo_predict(cluster, exports, tmp_path: Path,
                                               capsys) -> None:
    from kanjo.integrations.ray import predict

    model = exports["int8"]  # the fast path
    rows = [{"id": i, "text": text} for i, text in enumerate(texts(300, seed=4))]
    source = tmp_path / "rows.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "text"])
        writer.writeheader()
        writer.writerows(rows)
    want = _local(model, source, tmp_path, capsys)
    scored = predict(ray.data.from_items(rows), model, actors=2, batch_rows=64)
    got = sorted(scored.take_all(), key=lambda row: row["id"])
    assert len(got) == len(want) == 300
    names = list(want[0]["probabilities"])
    for g, w in zip(got, want, strict=True):
        assert str(g["id"]) == w["id"] and g["text"] == w["text"]
        _same({"label": g["label"], "score": g["score"],
               "probabilities": {n: g[f"p_{n}"] for n in names}},
              {k: w[k] for k in ("label", "score", "probabilities")})


def test_predict_engine_ray_writes_what_predict_writes(cluster, exports, tmp_path: Path,
                                                       capsys) -> None:
    model = exports["int8"]
    plain = tmp_path / "a.txt"
    plain.write_text("\n".join(texts(120, seed=5)) + "\n", "utf-8")
    table = tmp_path / "b.jsonl"
    table.write_text("".join(json.dumps({"text": t, "shop": f"店{i}", "id": i},
                                        ensure_ascii=False) + "\n"
                             for i, t in enumerate(texts(80, seed=6))), "utf-8")
    out = tmp_path / "out"
    code, _, err = run_cli(["predict", str(model), "--engine", "ray", "--input", str(plain),
                            "--input", str(table), "--output", str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.jsonl", "b.jsonl"]
    for source in (plain, table):
        got = [json.loads(x) for x in (out / f"{source.stem}.jsonl").read_text("utf-8")
               .splitlines()]
        want = _local(model, source, tmp_path, capsys)
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):  # in input order
            _same(g, w)
    bad = tmp_path / "bad.txt"
    bad.write_text("良い部屋でした。\n\n最悪でした。\n", "utf-8")
    code, _, err = run_cli(["predict", str(model), "--engine", "ray", "--input", str(bad),
                            "--output", str(tmp_path / "out2")], capsys)
    assert code == 2 and "line 2" in err and str(bad) in err, err
    assert not list((tmp_path / "out2").iterdir()), "nothing half-written"


def test_serve_app_as_a_ray_serve_deployment_with_two_replicas(cluster, exports) -> None:
    import socket

    import httpx
    from ray import serve

    import kanjo
    from kanjo.serve.ray_serve import deployment

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sentences = ["部屋は最高でした。", "朝食は最悪でした。", "ロビーは一階です。"]
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(deployment(exports["int8"], num_replicas=2,
                             ray_actor_options={"num_cpus": 0.5}), route_prefix="/")
        replicas = serve.status().applications["default"].deployments["kanjo"].replica_states
        assert replicas == {"RUNNING": 2}
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/classify", json={"texts": sentences},
                           timeout=60)
        assert reply.status_code == 200, reply.text
        got = reply.json()["predictions"]
    finally:
        serve.shutdown()
    want = kanjo.load(exports["int8"]).predict_proba(sentences)
    names = list(got[0]["probabilities"])
    for row, p in zip(got, want, strict=True):
        assert [row["probabilities"][n] for n in names] == pytest.approx(list(p), abs=TOLERANCE)
