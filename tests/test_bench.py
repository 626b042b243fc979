"""The benchmark program: its formulas and the figures its JSON line promises."""
import json

from course_lib import bench


def test_step_flops_counts_five_matmuls():
    # forward: x @ W_enc^T and z @ W_dec^T; backward: grad W_dec, grad z, grad W_enc
    assert bench.step_flops(784, 256, 32) == 5 * (2 * 32 * 784 * 256)


def test_default_run_reports_every_headline_figure(capsys):
    result = bench.run_default(sizes=(32,), epochs=2)
    assert {"epoch_s_32", "dataloader_epoch_s_32", "speedup_32", "matmul_fraction_32",
            "speedup_ceiling_32", "speedup_vs_dataloader", "matmul_fraction"} <= set(result)
    assert result["speedup_32"] == result["speedup_vs_dataloader"] > 0
    # the ceiling is the tutorial loop over the matmul floor: at least the achieved speedup
    # whenever the loop is slower than its own matmuls, which it always is
    assert result["speedup_ceiling_32"] >= result["speedup_32"] * 0.9
    json.dumps(result)
    table = capsys.readouterr().out
    assert "tutorial s/ep" in table and "mm fraction" in table
