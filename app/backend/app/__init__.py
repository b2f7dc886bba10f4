"""FastAPI backend of the reference Todo chatbot."""
