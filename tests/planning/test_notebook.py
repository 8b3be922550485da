"""Notebook views of plans: ``to_frame()`` and ``_repr_html_``."""

from __future__ import annotations

import pytest

from distillscale import plan


def test_supervised_plan_frame_matches_json() -> None:
    result = plan(compute=5.88e23, fit="@besiroglu2024")
    frame = result.to_frame()
    doc = result.to_json()
    assert frame.index.name == "quantity" and list(frame.columns) == ["value", "low", "high"]
    assert frame.loc["tokens_per_param", "value"] == pytest.approx(doc["tokens_per_param"])
    assert frame.loc["params", "value"] == doc["params"]
    text = result._repr_html_()
    assert "distillscale plan (supervised, fit @besiroglu2024)" in text
    assert "<td>tokens_per_param</td><td>18.3288</td>" in text


def test_scenario_table_has_a_column_per_scenario() -> None:
    result = plan(student_params=546e6, compute=1e21, scenario="all")
    frame = result.to_frame()
    assert list(frame.columns) == [
        "teacher-free", "teacher-inference", "teacher-pretraining",
        "teacher-pretraining-inference"]  # fmt: skip
    assert frame.loc["flops.student", "teacher-free"] > 0
    assert set(frame.loc["verdict"]) <= {"distill", "supervised"}
    assert result._repr_html_().count("<th>") == 5


def test_plan_html_leaves_out_unset_quantities_and_an_empty_interval_column() -> None:
    result = plan(compute=1e22, fit="@besiroglu2024")
    assert result.to_json()["target_loss"] is None  # still in the JSON and the frame
    assert "target_loss" in result.to_frame().index
    text = result._repr_html_()
    assert "target_loss" not in text and "<th>interval</th>" not in text
    assert "<td>flops_convention</td><td>6nd</td>" in text
