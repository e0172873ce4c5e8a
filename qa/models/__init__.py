"""The models: the embedded LLM (llama.cpp) and its weights check, the ONNX and OpenAI
embeddings, and the one factory (`qa.models.factory`) that builds each from Settings.

Kept light: the factory imports each model's module only when that mode is chosen."""
