"""Asks the app's top-level windows to close the way a window manager's close button does: a
WM_DELETE_WINDOW client message (GTK turns it into delete-event, Tauri into CloseRequested).
Xvfb runs no window manager, so nothing else would send it. Usage: close_window.py <pid>"""
import sys

from Xlib import X, display
from Xlib.protocol import event

pid = int(sys.argv[1])
d = display.Display()
wm_pid = d.intern_atom("_NET_WM_PID")
protocols = d.intern_atom("WM_PROTOCOLS")
delete = d.intern_atom("WM_DELETE_WINDOW")


def walk(w):
    for child in w.query_tree().children:
        yield child
        yield from walk(child)


sent = 0
for w in walk(d.screen().root):
    try:
        owner = w.get_full_property(wm_pid, X.AnyPropertyType)
        if not owner or owner.value[0] != pid or delete not in (w.get_wm_protocols() or []):
            continue
    except Exception:  # a window that went away while we looked
        continue
    w.send_event(
        event.ClientMessage(window=w, client_type=protocols, data=(32, [delete, X.CurrentTime, 0, 0, 0])),
        event_mask=X.NoEventMask,
    )
    sent += 1
d.flush()
print(sent)
sys.exit(0 if sent else 1)
