"""A real TR-064 client (fritzconnection, the library Home Assistant uses for FRITZ!Box)
against the simulated phone on loopback. Driven by cpe-agent/tests/tr064_clients.rs.

usage: fritz_client.py PORT USER PASSWORD ACTIONS_JSON [tls]
ACTIONS_JSON: a list of [service, action, {arguments}] calls; "reboot" for fc.reboot().
Prints one JSON object: {"services": [...], "results": [...]}; a result is the action's
out arguments, or {"error": "<ExceptionClass>: message"}.
"""
import json
import sys

from fritzconnection import FritzConnection


def main():
    port, user, password, actions = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    use_tls = len(sys.argv) > 5 and sys.argv[5] == "tls"
    fc = FritzConnection(
        address="127.0.0.1", port=int(port), user=user, password=password, timeout=20, use_tls=use_tls
    )
    out = {"services": sorted(fc.services.keys()), "modelname": fc.modelname, "results": []}
    for call in actions:
        try:
            if call == "reboot":
                fc.reboot()
                out["results"].append({})
                continue
            service, action, args = call
            result = fc.call_action(service, action, arguments=args)
            out["results"].append({k: (v if isinstance(v, (str, int, bool)) else str(v)) for k, v in result.items()})
        except Exception as e:  # noqa: BLE001 - reported to the Rust test
            out["results"].append({"error": f"{type(e).__name__}: {e}"})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
