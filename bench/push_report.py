"""The push benchmark's figures as a table (`report`), each goal beside its figure: push
latency p99 under 10 ms, under 20 KiB of server memory per connected phone."""

from __future__ import annotations

TARGET_P99_MS = 10.0
TARGET_KIB_PER_PHONE = 20.0


def report(figures: dict[str, float]) -> str:
    f = figures
    p99, kib = f["push_p99_ms"], f["kib_per_phone"]

    def goal(met: bool, text: str) -> str:
        return f"(goal < {text}: {'met' if met else 'NOT met'})"

    rows = [
        ("phones connected", f"{f['phones']:.0f}"),
        ("set-up: enrolled in-process / connected", f"{f['enrol_s']:.1f} s / {f['connect_s']:.1f} s"),
        ("server RSS before / after connecting", f"{f['rss_before_mib']:.1f} / {f['rss_after_mib']:.1f} MiB"),
        ("memory per connected phone", f"{kib:.1f} KiB " + goal(kib < TARGET_KIB_PER_PHONE, "20 KiB")),
        ("closed loop: max flows per second", f"{f['max_flows_per_s']:.0f}"),
        ("  push p50 / p99 at max", f"{f['max_push_p50_ms']:.1f} / {f['max_push_p99_ms']:.1f} ms"),
        ("open loop: offered flows per second", f"{f['offered_flows_per_s']:.0f} (max: "
         f"{f['max_flows_per_s']:.0f})"),
        ("  flows / completed per second", f"{f['flows']:.0f} / {f['flows_per_s']:.0f}"),
        ("  CPU share of a core: server / this process", f"{f['server_cpu_share']:.2f} / {f['bench_cpu_share']:.2f}"),
        ("  time waiting for a core: server / this process",
         f"{f['server_wait_share']:.1%} / {f['bench_wait_share']:.1%}"),
        ("  push latency p50 / p95", f"{f['push_p50_ms']:.1f} / {f['push_p95_ms']:.1f} ms"),
        ("  push latency p99", f"{p99:.1f} ms " + goal(p99 < TARGET_P99_MS, "10 ms")),
        ("  push latency max", f"{f['push_max_ms']:.1f} ms"),
        ("  this process's loop lag p99", f"{f['bench_lag_p99_ms']:.1f} ms"),
        ("server RSS at the end", f"{f['rss_end_mib']:.1f} MiB"),
        ("answers refused / connections closed", f"{f['refused_answers']:.0f} / {f['connections_closed']:.0f}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)
