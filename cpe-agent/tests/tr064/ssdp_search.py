"""A real UPnP client (async-upnp-client) searches for the phone by a unicast M-SEARCH to its
SSDP port on loopback (no multicast leaves the machine), then follows LOCATION.
Driven by cpe-agent/tests/tr064_clients.rs.

usage: ssdp_search.py SSDP_PORT SEARCH_TARGET
Prints one JSON object: {"responses": [{header: value}], "descriptions": {location: xml}}.
"""
import asyncio
import json
import sys

import aiohttp
from async_upnp_client.search import async_search


async def main():
    port, st = int(sys.argv[1]), sys.argv[2]
    responses = []

    async def on_response(headers):
        responses.append({str(k).lower(): str(v) for k, v in headers.items() if not str(k).startswith("_")})

    await async_search(
        on_response,
        timeout=1,
        search_target=st,
        source=("127.0.0.1", 0),
        target=("127.0.0.1", port),
    )
    descriptions = {}
    async with aiohttp.ClientSession() as session:
        for location in sorted({r["location"] for r in responses if "location" in r}):
            async with session.get(location) as resp:
                descriptions[location] = await resp.text()
    print(json.dumps({"responses": responses, "descriptions": descriptions}))


if __name__ == "__main__":
    asyncio.run(main())
