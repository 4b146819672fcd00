"""The helper code a generated file may need (functions and small modules the layers use), and the names the
generated code reserves for itself."""

# Helper code a file may need, in the order it is written, with what each one needs in turn.
HELPERS: dict[str, str] = {
    "causal_mask": '''
def causal_mask(queries: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """The mask of causal attention: True where a query would see a key after its own position."""
    return torch.ones(queries.size(1), keys.size(1), dtype=torch.bool, device=queries.device).triu(1)''',
    "sinusoidal_table": '''
def sinusoidal_table(length: int, dim: int) -> torch.Tensor:
    """Eq. 4.15: sin(t / 10000^(d/D)) for even d, cos(t / 10000^((d-1)/D)) for odd d."""
    t = torch.arange(length, dtype=torch.float64).unsqueeze(1)
    d = torch.arange(dim)
    angle = t / 10000.0 ** ((d - d % 2) / dim)
    return torch.where(d % 2 == 0, angle.sin(), angle.cos()).float()''',
    "SinusoidalEncoding": '''
class SinusoidalEncoding(nn.Module):
    """The fixed encoding of the positions of a N×T×D sequence, to be added to it."""

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        # Not persistent: it is recomputed exactly, so checkpoints need not carry it.
        self.register_buffer("encoding", sinusoidal_table(length, dim), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(1) > self.encoding.size(0):
            raise ValueError("the sequence is longer than the positional encoding")
        return self.encoding[: x.size(1)].expand(x.size(0), -1, -1)''',
    "PositionalEncoding": '''
class PositionalEncoding(nn.Module):
    """A learned encoding of the positions of a N×T×D sequence (T at most max_len), to be added to it."""

    def __init__(self, max_len: int, dim: int) -> None:
        super().__init__()
        self.encoding = nn.Parameter(torch.empty(max_len, dim))
        nn.init.normal_(self.encoding, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(1) > self.encoding.size(0):
            raise ValueError("the sequence is longer than the positional encoding")
        return self.encoding[: x.size(1)].expand(x.size(0), -1, -1)''',
    "ClassToken": '''
class ClassToken(nn.Module):
    """Prepends one trainable vector (ViT's class token) to every sequence: N×T×D → N×(T+1)×D."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat((self.token.expand(x.size(0), -1, -1), x), dim=1)''',
}
HELPER_NEEDS = {"SinusoidalEncoding": {"sinusoidal_table"}}
# Names the generated code uses itself; `l`, `I` and `O` read like digits (pycodestyle E741).
RESERVED = {"self", "super", "torch", "nn", "F", "l", "I", "O", *HELPERS}
