"""Channel spec parsing: the hand-written parser against Lark on the SPEC grammar, cold and cached.

``python -m benchmarks channels`` prints per-call medians (microseconds) and ratios against Lark's
LALR parser (the fastest Lark mode) measured in the same run.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable, List

SPECS = [
    'red|green|blue',
    'B1|B8.0:3|B11',
    'S2:(infrared,red|green|blue),L8:nir|swir:2',
    '(S2,L8,WV):(red|green|blue),S2:B1|B8|B8a|B10|B11,L8:land.0:4',
]


def _median_us(fn: Callable[[str], object], text: str, number: int, repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            fn(text)
        samples.append((time.perf_counter() - start) / number * 1e6)
    return statistics.median(samples)


def main(argv: List[str]) -> None:
    import lark

    from ndsampler.channels import FusedChannelSpec, SensorChanSpec
    from ndsampler.channels._parser import GRAMMAR, parse_stream

    number = 200 if '--quick' in argv else 2000
    lalr = lark.Lark(GRAMMAR, start='start', parser='lalr')
    uncached = parse_stream.__wrapped__
    print(f'{"spec":<70} {"lark us":>9} {"ours us":>9} {"ratio":>7} {"cached us":>10} {"ratio":>8}')
    for text in SPECS:
        lark_us = _median_us(lalr.parse, text, number)
        ours_us = _median_us(uncached, text, number)
        SensorChanSpec.coerce(text)
        cached_us = _median_us(SensorChanSpec.coerce, text, number * 10)
        print(f'{text:<70} {lark_us:9.2f} {ours_us:9.2f} {lark_us / ours_us:6.1f}x {cached_us:10.3f} '
              f'{lark_us / cached_us:7.0f}x')
    fused = 'B1|B8.0:3|B11'
    FusedChannelSpec.coerce(fused)
    print(f'FusedChannelSpec.coerce({fused!r}) cached: {_median_us(FusedChannelSpec.coerce, fused, number * 10):.3f} us')
    print('ratio = lark / ours (higher is faster than Lark LALR)')


if __name__ == '__main__':
    import sys
    main(sys.argv[1:])
