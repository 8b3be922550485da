import json

from distillscale.cli import main
from distillscale.cli.app import err_console
from distillscale.laws import LAWS, list_published


def test_laws_json_lists_every_law_and_set(capsys):
    assert main(["laws", "--json"]) == 0
    out = capsys.readouterr().out
    doc = json.loads(out)
    assert [law["name"] for law in doc["laws"]] == list(LAWS)
    assert [s["name"] for s in doc["published"]] == ["@" + n for n in list_published()]
    dist = next(law for law in doc["laws"] if law["name"] == "distillation")
    assert [p["name"] for p in dist["parameters"]] == "A B alpha beta gamma c0 c1 f1 d1".split()
    assert dist["inputs"] == ["params", "tokens", "teacher_loss"]
    assert dist["derived_inputs"] == ["supervised_loss"]
    chin = next(law for law in doc["laws"] if law["name"] == "chinchilla")
    assert chin["n_starts"] == 4500 and chin["default_delta"] == 1e-3
    bus = next(s for s in doc["published"] if s["name"] == "@busbridge2025")
    assert bus["supervised"] == "@busbridge2025-supervised"
    assert bus["ci"]["c1"] == [522.6, 522.6] and bus["param_count"] == "non_embedding"
    assert "2502.08606" in bus["citation"]


def test_laws_table_goes_to_stderr(capsys, monkeypatch):
    monkeypatch.setattr(err_console, "width", 160)
    assert main(["laws"]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    for text in (
        "chinchilla-gamma",
        "overtrain",
        "@hoffmann2022",
        "@busbridge2025-supervised",
        "2203.15556",  # the arXiv column
    ):
        assert text in captured.err


def test_laws_rejects_unknown_option(capsys):
    assert main(["laws", "--nope"]) == 2
    assert capsys.readouterr().out == ""
