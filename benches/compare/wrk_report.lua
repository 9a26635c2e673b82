-- wrk script for benches/compare/run.sh: at the end of a run, one machine-readable line.
--   WRK_RESULT requests=N bytes=N seconds=S p50_us=N p99_us=N errors=N non2xx=N
-- `bytes` counts every byte read, including the part of a response still in flight at the end.
done = function(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "WRK_RESULT requests=%d bytes=%d seconds=%.6f p50_us=%d p99_us=%d errors=%d non2xx=%d\n",
      summary.requests, summary.bytes, summary.duration / 1e6,
      latency:percentile(50), latency:percentile(99),
      e.connect + e.read + e.write + e.timeout, e.status))
end
