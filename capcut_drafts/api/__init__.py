"""What runs the routes, shared by the Flask app and the MCP server: the registry of POST routes,
the dispatcher (decoded body → envelope) and the parameter descriptions. No Flask."""
