"""CapCut / JianYing draft service: build editing drafts over HTTP or MCP, save them as folders the apps open."""
