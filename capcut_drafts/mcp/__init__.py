"""The MCP server: every route as a Model Context Protocol tool, generated from the route registry."""
