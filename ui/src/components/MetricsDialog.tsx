// The metrics panel: the last hour minute by minute (writes, bytes, coalescing, snapshots,
import { useBackend, useNotify } from "../context";
// queue waits, events) and the totals since start. Fetched on open and again on each metrics
// event (the engine sends those at most once a second, and only when something changed).
import { useEffect, useMemo, useState } from "react";
import type { MetricsReport } from "../bindings";
import { formatBytes } from "../errors";
import { Chart, type Series } from "./Chart";
import { useEscape } from "./useEscape";

interface Props {
  /** Changes with each metrics event. */
  tick: number;
  onClose(): void;
}

const PRIORITIES = ["urgent", "visible", "background", "idle"];
const [ORANGE, BLUE, GREEN, GREY] = ["#d9480f", "#1c7ed6", "#2b8a3e", "#868e96"] as const;
const BY_PRIORITY = [ORANGE, BLUE, GREEN, GREY] as const;

export function MetricsDialog({ tick, onClose }: Props) {
  const backend = useBackend();
  const { report } = useNotify();
  const [data, setData] = useState<MetricsReport | null>(null);
  useEffect(() => {
    backend.metrics().then(setData).catch(report);
  }, [backend, tick, report]);
  useEscape(onClose);

  const charts = useMemo(() => {
    if (!data) return null;
    const w = data.windows;
    const xs = w.map((m) => m.minute * 60);
    const col = (f: (m: (typeof w)[number]) => number | null) => w.map((m) => f(m) ?? 0);
    const s = (label: string, values: number[], color: string): Series => ({ label, values, color });
    return {
      xs,
      writes: [s("writes", col((m) => m.disk_writes), BLUE), s("fsyncs", col((m) => m.fsyncs), ORANGE)],
      bytes: [s("bytes", col((m) => m.bytes_written), GREEN)],
      coalesced: [s("changes", col((m) => m.changes), GREY), s("content writes", col((m) => m.content_writes), BLUE)],
      snapshots: [s("MB/s", col((m) => m.snapshot_mb_s), GREEN), s("longest ms", col((m) => m.snapshot_ms_max), ORANGE)],
      queue: PRIORITIES.map((p, i) => s(`${p} ms`, col((m) => m.queue_wait_ms_mean[i] ?? 0), BY_PRIORITY[i] ?? GREY)),
      events: [s("events", col((m) => m.events_in), GREY), s("messages", col((m) => m.messages_out), BLUE)],
    };
  }, [data]);

  const hour = data?.windows.reduce(
    (a, m) => ({ writes: a.writes + m.disk_writes, bytes: a.bytes + m.bytes_written, snapshots: a.snapshots + m.snapshots }),
    { writes: 0, bytes: 0, snapshots: 0 },
  );
  const t = data?.totals;
  return (
    <div className="modal-backdrop" role="presentation" onClick={onClose}>
      <div className="modal wide metrics" role="dialog" aria-label="Metrics" data-testid="metrics-dialog" onClick={(e) => e.stopPropagation()}>
        <h2>Metrics: the last hour</h2>
        {!data || !charts || !t || !hour ? (
          <p>Loading…</p>
        ) : (
          <>
            <p className="metrics-line">
              Last hour: <b data-testid="metrics-hour-writes">{hour.writes}</b> disk writes,{" "}
              <b data-testid="metrics-hour-bytes">{formatBytes(hour.bytes)}</b>,{" "}
              <b data-testid="metrics-hour-snapshots">{hour.snapshots}</b> snapshots. Since start: {t.fsyncs} fsyncs,{" "}
              {t.changes} changes saved in {t.content_writes} writes ({(t.coalesced_pct ?? 0).toFixed(0)} % coalesced), {t.events_in} events
              in {t.messages_out} messages ({t.events_dropped} dropped), tasks {t.tasks_queued} queued · {t.tasks_completed} done ·{" "}
              {t.tasks_failed} failed · {t.tasks_cancelled} cancelled, {t.checkpoints} task-store checkpoints. Waiting now:{" "}
              {PRIORITIES.map((p, i) => `${p} ${data.queue_waiting[i] ?? 0}`).join(", ")}.
            </p>
            <div className="charts">
              <Chart title="Disk writes and fsyncs per minute" xs={charts.xs} series={charts.writes} testid="chart-writes" />
              <Chart title="Bytes written per minute" xs={charts.xs} series={charts.bytes} testid="chart-bytes" format={formatBytes} />
              <Chart title="Changes vs writes (coalescing)" xs={charts.xs} series={charts.coalesced} testid="chart-coalesced" />
              <Chart title="Snapshot throughput and longest snapshot" xs={charts.xs} series={charts.snapshots} testid="chart-snapshots" />
              <Chart title="Mean queue wait per priority (ms)" xs={charts.xs} series={charts.queue} testid="chart-queue" />
              <Chart title="Events in and messages to the UI" xs={charts.xs} series={charts.events} testid="chart-events" />
            </div>
          </>
        )}
        <div className="modal-actions">
          <button data-testid="open-log-folder" onClick={() => void backend.openLogFolder().catch(report)}>
            Open log folder
          </button>
          <button data-testid="metrics-close" onClick={onClose} autoFocus>
            Close
          </button>
        </div>
      </div>
    </div>
  );
}
