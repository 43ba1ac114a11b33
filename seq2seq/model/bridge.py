"""The bridge from the encoder's final states to the decoder's initial state."""

from __future__ import annotations

import torch
from torch import nn


class Bridge(nn.Module):
    """h_n (L_enc*D, B, H_enc) -> h_0 (L_dec, B, H_dec).

    `linear`: per sentence, the directions of each encoder layer are concatenated and all layers
    joined, (B, L_enc*D*H_enc), then one linear map + tanh gives every decoder layer its state;
    so any L_enc, L_dec, D*H_enc and H_dec fit together. `zero`: h_0 = 0 (the ablation baseline).
    """

    def __init__(
        self,
        kind: str,
        *,
        enc_layers: int,
        directions: int,
        enc_hidden: int,
        dec_layers: int,
        dec_hidden: int,
    ) -> None:
        super().__init__()
        self.enc_layers, self.directions = enc_layers, directions
        self.dec_layers, self.dec_hidden = dec_layers, dec_hidden
        in_size = enc_layers * directions * enc_hidden
        self.linear = nn.Linear(in_size, dec_layers * dec_hidden) if kind == "linear" else None

    def forward(self, h_n: torch.Tensor) -> torch.Tensor:
        """h_n (L_enc*D, B, H_enc) -> h_0 (L_dec, B, H_dec)."""
        LD, B, H = h_n.shape
        if self.linear is None:
            return h_n.new_zeros(self.dec_layers, B, self.dec_hidden)
        # nn.GRU orders h_n as (layer, direction): view it so, then put the batch first
        per_layer = h_n.view(self.enc_layers, self.directions, B, H).permute(2, 0, 1, 3)
        joined = per_layer.reshape(B, LD * H)  # (B, L_enc*D*H_enc)
        h_0 = torch.tanh(self.linear(joined)).view(B, self.dec_layers, self.dec_hidden)
        return h_0.transpose(0, 1).contiguous()  # (L_dec, B, H_dec)
