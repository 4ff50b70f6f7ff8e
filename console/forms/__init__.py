"""The console's forms, one module per area: query-string parsing of each list
(``ListForm`` subclasses) and the inputs of edits and the second factor."""
