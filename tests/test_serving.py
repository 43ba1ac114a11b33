"""The HTTP service's API, through FastAPI's TestClient: every endpoint, limit and bad input,
and the same output as Translator.translate and seq2seq-translate."""

from __future__ import annotations

import asyncio
import gzip
import logging

import pytest
from conftest import MIRROR, run_module
from fastapi.testclient import TestClient

from seq2seq.composition import compose
from seq2seq.data.multi30k import sha256_of
from seq2seq.decoding.loading import open_configured
from seq2seq.decoding.translator import Translator
from seq2seq.serving.app import create_app
from seq2seq.serving.batcher import Batcher
from seq2seq.serving.run import model_info

VAL = gzip.decompress((MIRROR / "val.de.gz").read_bytes()).decode().splitlines()[:40]


def _service(run, *overrides: str):
    cfg = compose("serve", [f"run_dir={run}", "device=cpu", *overrides])
    loaded = open_configured(cfg, [])
    translator = Translator(loaded, cfg.decode, cfg.max_src_len)
    return translator, create_app(translator, cfg.serve, model_info(loaded, cfg))


@pytest.fixture(scope="module")
def served(trained_run):
    translator, app = _service(trained_run, "serve.max_sentences=8", "serve.max_chars=200",
                               "serve.max_body_bytes=4000", "serve.max_beam_size=6")
    with TestClient(app) as client:
        yield translator, client


def _refused(response, status: int, field: str, *words: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field, error
    assert all(w in error["message"] for w in words), error


def test_health_model_and_docs(served, trained_run):
    _, client = served
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["auth"] is False
    assert set(health) == {"status", "requests", "sentences", "batches", "auth"}
    info = client.get("/v1/model").json()
    assert info["pair"] == "de-en" and info["parameters"] > 0
    assert info["model"]["encoder"]["gru"]["bidirectional"] is True
    assert set(info["model"]["decoder"]["gru"]) == {"input_size", "hidden_size", "num_layers",
                                                    "bias", "batch_first", "dropout",
                                                    "bidirectional"}
    best = trained_run / "checkpoints" / "best.pt"
    assert info["checkpoints"] == [{"path": str(best), "sha256": sha256_of(best)}]
    assert info["tokenizer"]["src_vocab_size"] == 500
    assert "/v1/translate" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_translations_equal_the_python_api_and_the_command(served, trained_run):
    translator, client = served
    lines = [*VAL[:5], "", VAL[5]]
    response = client.post("/v1/translate", json={"text": lines, "beam_size": 3})
    assert response.status_code == 200, response.text
    texts = [t["text"] for t in response.json()["translations"]]
    assert texts == translator.translate(lines, beam_size=3)
    proc = run_module("seq2seq.translate", f"run_dir={trained_run}", "decode.beam_size=3",
                      input="\n".join(lines) + "\n")
    assert texts == proc.stdout.split("\n")[:-1]
    assert texts[5] == "" and all(texts[:5])


def test_n_best_scores_tokens_and_attention(served):
    translator, client = served
    body = {"text": VAL[:3], "beam_size": 4, "n_best": 2, "length_penalty": 1.5,
            "attention": True}
    got = client.post("/v1/translate", json=body).json()["translations"]
    expected = translator.translate(VAL[:3], beam_size=4, n_best=2, length_penalty=1.5,
                                    attention=True)
    for sentence, nbest in zip(got, expected, strict=True):
        assert [h["text"] for h in sentence["n_best"]] == [t.text for t in nbest]
        assert [h["score"] for h in sentence["n_best"]] == pytest.approx([t.score for t in nbest])
        assert sentence["source_tokens"] == nbest[0].src_pieces
        first = sentence["n_best"][0]
        assert len(first["attention"]) == len(first["tokens"])
        assert {len(row) for row in first["attention"]} == {len(sentence["source_tokens"])}
    plain = client.post("/v1/translate", json={"text": VAL[:1]}).json()["translations"][0]
    assert "source_tokens" not in plain and "attention" not in plain["n_best"][0]


@pytest.mark.parametrize("body, status, field, words", [
    ({"text": VAL[:9]}, 413, "text", ["9 sentences", "at most 8", "serve.max_sentences"]),
    ({"text": ["a" * 201]}, 413, "text.0", ["201 characters", "at most 200"]),
    ({"text": ["x"], "beam_size": 7}, 422, "beam_size", ["at most 6", "serve.max_beam_size"]),
    ({"text": ["x"], "beam_size": 0}, 422, "beam_size", ["greater than or equal to 1"]),
    ({"text": ["x"], "beam_size": 2, "n_best": 3}, 422, "n_best", ["must not exceed"]),
    ({"text": ["x"], "beam_size": "3"}, 422, "beam_size", ["valid integer"]),
    ({"text": "Ein Hund."}, 422, "text", ["valid list"]),
    ({"text": [1, 2]}, 422, "text.0", ["valid string"]),
    ({"text": ["x"], "attention": "yes"}, 422, "attention", ["valid boolean"]),
    ({"text": ["x"], "length_penalty": -1}, 422, "length_penalty", ["greater than or equal"]),
    ({"text": ["x"], "beam": 3}, 422, "beam", ["Extra inputs"]),
    ({}, 422, "text", ["Field required"]),
])
def test_bad_requests_are_4xx_json_naming_the_field(served, body, status, field, words):
    _, client = served
    _refused(client.post("/v1/translate", json=body), status, field, *words)
    assert client.post("/v1/translate", json={"text": ["Ein Hund."]}).status_code == 200


def test_bodies_that_are_not_json_or_too_large(served):
    _, client = served
    headers = {"content-type": "application/json"}
    _refused(client.post("/v1/translate", content=b'{"text": [', headers=headers), 422, "body",
             "JSON")
    _refused(client.post("/v1/translate", content=b"\xff\xfe", headers=headers), 422, "body")
    nan = b'{"text": ["x"], "length_penalty": NaN}'  # Python's json reads NaN
    _refused(client.post("/v1/translate", content=nan, headers=headers), 422, "length_penalty",
             "finite number")
    big = b'{"text": ["' + b"a" * 5000 + b'"]}'
    _refused(client.post("/v1/translate", content=big, headers=headers), 413, "body",
             "4,000 bytes", "serve.max_body_bytes")
    streamed = client.post("/v1/translate", content=iter([big[:3000], big[3000:]]),
                           headers=headers)  # no Content-Length: counted as it arrives
    _refused(streamed, 413, "body", "serve.max_body_bytes")
    assert client.post("/v1/translate", json={"text": ["Ein Hund."]}).status_code == 200


def test_api_key_cors_and_logging(trained_run, caplog):
    _, app = _service(trained_run, "serve.api_key=s3cret")
    with TestClient(app) as client:
        body = {"text": ["Ein Hund läuft."]}
        _refused(client.post("/v1/translate", json=body), 401, "authorization", "API key")
        _refused(client.get("/v1/model", headers={"X-API-Key": "wrong"}), 401, "authorization")
        ok = client.post("/v1/translate", json=body, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert client.get("/v1/model", headers={"X-API-Key": "s3cret"}).status_code == 200
        assert client.get("/v1/health").json()["auth"] is True
        assert "access-control-allow-origin" not in ok.headers
    _, app = _service(trained_run, "serve.cors_origins=[http://example.org]", "serve.log_text=true")
    with TestClient(app) as client, caplog.at_level(logging.INFO, logger="seq2seq.serve"):
        response = client.post("/v1/translate", json={"text": ["Ein Hund läuft."]},
                               headers={"Origin": "http://example.org"})
        assert response.headers["access-control-allow-origin"] == "http://example.org"
    assert "Ein Hund läuft." in caplog.text
    caplog.clear()
    with TestClient(_service(trained_run)[1]) as client, caplog.at_level(logging.INFO):
        client.post("/v1/translate", json={"text": ["Ein Hund läuft."]})
    assert "translated 1 sentences" in caplog.text and "Hund" not in caplog.text


def test_concurrent_requests_share_batches_and_get_their_own_results(served):
    translator, _ = served
    expected = translator.translate(VAL[:32])

    async def fire():
        batcher = Batcher(translator, max_sentences=64, max_wait_ms=200)
        batcher.start()
        results = await asyncio.gather(*(
            batcher.translate([line], translator.decode, False) for line in VAL[:32]))
        await batcher.stop()
        return results, batcher.counts

    results, counts = asyncio.run(fire())
    assert [r[0][0].text for r in results] == expected
    assert counts.requests == 32 and counts.sentences == 32 and counts.batches < 32
