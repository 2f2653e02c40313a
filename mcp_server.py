"""Entry point of the MCP server: `python mcp_server.py [--http --host H --port P]`.

The server itself is `capcut_drafts.mcp.server`.
"""
import sys

from capcut_drafts.mcp.server import main

if __name__ == "__main__":
    sys.exit(main())
