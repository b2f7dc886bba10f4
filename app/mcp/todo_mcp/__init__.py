"""MCP tool server for the reference Todo chatbot: owns the task table."""
