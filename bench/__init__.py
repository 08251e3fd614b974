"""The benchmarks: ingress, latency, throughput, burst (bench/README.md, bench/harness.py)."""
