"""Models: the paper's GPT-2 (`gpt`), Hugging Face GPT-2 conversion and export (`hf`), LLaMA-family references
loaded offline from GGUF or by name (`llama`)."""
