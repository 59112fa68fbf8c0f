#!/usr/bin/env bash
# How the committed text-line images were made (not run by npm ci or the tests: the .pgm files are
# committed). Needs ImageMagick 6 and the DejaVu fonts (Debian: imagemagick, fonts-dejavu-core).
# Each line is black text on white, trimmed to the ink plus a 6-pixel margin, 8-bit grey binary PGM.
set -euo pipefail
cd "$(dirname "$0")"
fonts=/usr/share/fonts/truetype/dejavu
i=0
while IFS='|' read -r font text; do
  i=$((i + 1))
  convert -background white -fill black -font "$fonts/$font" -pointsize 26 label:"$text" \
    -trim -bordercolor white -border 6x6 -colorspace Gray -depth 8 "pgm:$(printf %02d $i).pgm"
done <<'LINES'
DejaVuSans.ttf|Invoice No. 20931, due 14 March
DejaVuSerif.ttf|The quick brown fox jumps over
DejaVuSansMono.ttf|TOTAL  $1,284.50
DejaVuSans-Bold.ttf|Shipping address
DejaVuSansCondensed.ttf|42 Harbour Road, Leith EH6 6LX
DejaVuSerif-Italic.ttf|with kind regards,
DejaVuSans-Oblique.ttf|Order 7781-B: 3 x bolts M8
DejaVuSerifCondensed-Bold.ttf|PAYMENT RECEIVED
DejaVuSans.ttf|No. 42
DejaVuSerif.ttf|Page 3
LINES
