"""Analysis of trained models: attention rank and mass, lazy layers (`degeneration`); attention probabilities of
native and Hugging Face models (`attention`)."""
