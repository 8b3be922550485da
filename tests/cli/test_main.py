from distillscale.cli import main


def test_version_exits_zero(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.startswith("distillscale ")


def test_unknown_command_is_usage_error(capsys):
    assert main(["no-such-command"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert (
        captured.err
        == "distillscale: no such command 'no-such-command' (see distillscale --help)\n"
    )
