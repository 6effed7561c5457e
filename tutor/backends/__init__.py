"""The model: backends chosen by name (llama.cpp, an OpenAI-compatible API, no model at all), what it is asked
(prompt, grammar), how fast it reads (latency), the queue learners wait in, and the local GGUF files."""
