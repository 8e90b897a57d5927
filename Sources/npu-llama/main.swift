print("npu-llama")
