import subprocess
import sys


def test_flops_needs_only_numpy():
    code = (
        "import sys, distillscale.flops as f; "
        "f.count_params(f.family_shape(2)); "
        "print(sorted(m for m in ('torch', 'scipy', 'pandas', 'sqlalchemy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
