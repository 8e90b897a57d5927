// ReferenceBackend: fp32 Llama ops on OpenBLAS (verification only).
import COpenBLAS
