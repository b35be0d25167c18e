"""HTML pieces below the pages and the result classes: elements (numbers, cards, tables), summaries
(the summary cards and tables a page and a notebook share) and notebook (the results' `_repr_html_`).
"""
