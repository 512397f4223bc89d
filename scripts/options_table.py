#!/usr/bin/env python3
"""Rewrites README.md's table of options structs from the public headers (run from the repo root).

tests/readme/options_table_test.cpp checks the table; run this after adding or reordering a field."""
import re,sys
rows=[]
decl=re.compile(r'^\s*([\w:]+(<[^;]*>)?)\s+([^;()]*);\s*$')
dcl=re.compile(r'(^|,)\s*(\w+)\s*(=\s*(\{[^}]*\}|[^,{]+)|\{[^}]*\})?')
for h in ['include/kerosene/layers.h','include/kerosene/model.h','include/kerosene/optimizers.h']:
    s=open(h).read()
    for m in re.finditer(r'\nstruct (\w+Options) \{(.*?)\n\};', s, re.S):
        fields=[]
        for line in m.group(2).split('\n'):
            line=line.split('//')[0]
            mm=decl.match(line)
            if not mm: continue
            fields += [d.group(2) for d in dcl.finditer(mm.group(3))]
        rows.append((m.group(1), h.split('/')[-1], fields))
table='\n'.join(f"| `{n}` | `{h}` | {', '.join(f)} |" for n,h,f in rows)
p='README.md'
s=open(p).read()
a=s.index('| options | header | fields, in order |\n|---|---|---|\n')+len('| options | header | fields, in order |\n|---|---|---|\n')
b=s.index('\n\n',a)
s=s[:a]+table+s[b:]
open(p,'w').write(s)

