import type { AppInfo, MetricsSnapshot } from "../bindings";
import { formatBytes } from "../errors";

interface Props {
  info: AppInfo | null;
  metrics: MetricsSnapshot | null;
}

export function StatusBar({ info, metrics }: Props) {
  return (
    <footer className="statusbar">
      <span className="save-status saved" data-testid="save-status">
        All changes saved
      </span>
      <span className="workspace" data-testid="workspace" title={info?.engine.workspace}>
        {info ? info.engine.workspace : "Starting…"}
      </span>
      <span className="metrics" data-testid="metrics">
        {metrics
          ? `${metrics.disk_writes} writes · ${formatBytes(metrics.bytes_written)} · ${metrics.fsyncs} fsyncs · ${metrics.events_emitted} events`
          : "–"}
      </span>
      {info && (
        <span className="version" data-testid="engine-version">
          Quire {info.engine.version} · DataFusion {info.engine.datafusion_version}
        </span>
      )}
    </footer>
  );
}
