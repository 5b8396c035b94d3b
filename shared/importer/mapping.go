package importer

import (
	"fmt"
	"slices"
	"strings"
)

// Fields lists the fields a mapping can fill (a new slice on every call).
// customer_id, date and total are required.
func Fields() []string {
	return []string{"customer_id", "date", "total", "order_id", "email", "phone", "first_name", "last_name", "quantity", "currency", "sku", "title"}
}

func requiredFields() []string { return []string{"customer_id", "date", "total"} }

// Mapping maps a field to the CSV column holding it.
type Mapping map[string]string

// ParseMapping reads "field=column,field=column", e.g.
// "customer_id=cust,date=day,total=amount".
func ParseMapping(s string) (Mapping, error) {
	m := Mapping{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		field, col, ok := strings.Cut(part, "=")
		field, col = strings.TrimSpace(field), strings.TrimSpace(col)
		if !ok || field == "" || col == "" {
			return nil, fmt.Errorf("mapping: %q is not field=column", part)
		}
		if !slices.Contains(Fields(), field) {
			return nil, fmt.Errorf("mapping: unknown field %q; fields are %s", field, strings.Join(Fields(), ", "))
		}
		if _, dup := m[field]; dup {
			return nil, fmt.Errorf("mapping: field %q mapped twice", field)
		}
		m[field] = col
	}
	for _, f := range requiredFields() {
		if _, ok := m[f]; !ok {
			return nil, fmt.Errorf("mapping: field %q is required (e.g. --map \"customer_id=cust,date=day,total=amount\")", f)
		}
	}
	return m, nil
}

// index resolves the mapping against a header row.
func (m Mapping) index(header []string) (map[string]int, error) {
	pos := map[string]int{}
	for i, h := range header {
		pos[strings.TrimSpace(h)] = i
	}
	out := map[string]int{}
	for field, col := range m {
		i, ok := pos[col]
		if !ok {
			return nil, fmt.Errorf("mapping: column %q (for %s) is not in the header; columns are %s", col, field, strings.Join(header, ", "))
		}
		out[field] = i
	}
	return out, nil
}
