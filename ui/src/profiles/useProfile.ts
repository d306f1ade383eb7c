// Asks the engine for a profile while `subject` is set, and cancels the ask when the subject
// changes or its user goes away (the engine also drops a stale table version's profile itself).
import { useEffect, useState } from "react";
import type { Profile } from "../bindings";
import { QuireError } from "../backend";
import { useBackend } from "../context";
import { describeError, type ErrorText } from "../errors";

export interface ProfileState {
  profile: Profile | null;
  error: ErrorText | null;
}

/** `load` computes the profile (`job` lets it be cancelled); `subject` names what is profiled (a
 *  table version, a query) and null asks for nothing. */
export function useProfile(load: (job: string) => Promise<Profile>, subject: string | null): ProfileState {
  const backend = useBackend();
  const [state, setState] = useState<ProfileState & { subject: string | null }>({ profile: null, error: null, subject: null });
  useEffect(() => {
    if (subject === null) return;
    const job = crypto.randomUUID();
    let gone = false;
    load(job)
      .then((profile) => !gone && setState({ profile, error: null, subject }))
      .catch((e: unknown) => {
        const err = QuireError.from(e);
        if (!gone && err.code !== "cancelled") setState({ profile: null, error: describeError(err), subject });
      });
    return () => {
      gone = true;
      void backend.cancelJob(job).catch(() => undefined);
    };
    // `load` is rebuilt by the parent on every render; `subject` says when it means new data.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [subject, backend]);
  // Another subject's profile is never shown meanwhile (a click would filter by its columns).
  return state.subject === subject && subject !== null ? state : { profile: null, error: null };
}
